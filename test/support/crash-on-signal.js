// Preloaded (node --require) into the real service by test/e2e/process-policy.spec.ts: on SIGUSR2
// it fails the way a bug would, with an unhandled rejection or an uncaught exception.
process.on('SIGUSR2', () => {
  if (process.env.PBT_CRASH_KIND === 'exception') {
    setImmediate(() => {
      throw new Error('injected uncaught exception');
    });
  } else {
    void Promise.reject(new Error('injected unhandled rejection'));
  }
});
