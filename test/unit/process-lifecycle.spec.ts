import { EventEmitter } from 'node:events';
import type { LifecycleLog, ShutdownStep } from '../../src/common/process-lifecycle';
import { createProcessPolicy, installProcessPolicy } from '../../src/common/process-lifecycle';

/**
 * The process policy of main.ts, against a stand-in process: signals and last-resort errors start
 * the ordered shutdown (app → simulators → database), a crash is logged as fatal without secrets
 * and exits non-zero, a failing step does not skip the next, a duplicate Ctrl-C is ignored.
 */
function harness(options: { steps?: ShutdownStep[]; graceMs?: number; failing?: string[] } = {}) {
  const lines: Array<{ level: string; object: Record<string, unknown>; message: string }> = [];
  const record = (level: string) => (object: object, message: string) =>
    lines.push({ level, object: object as Record<string, unknown>, message });
  const log: LifecycleLog = {
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    fatal: record('fatal'),
  };
  const order: string[] = [];
  const step = (name: string, fail = false): ShutdownStep => ({
    name,
    run: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push(name);
      if (fail) throw new Error(`${name} refused to stop`);
    },
  });
  const failing = new Set(options.failing ?? []);
  const steps = options.steps ?? ['app', 'simulators', 'database'].map((name) => step(name, failing.has(name)));
  let clock = 0;
  const exits: number[] = [];
  let exited: (code: number) => void = () => undefined;
  const exitedOnce = new Promise<number>((resolve) => (exited = resolve));
  const policy = createProcessPolicy({
    log,
    steps: () => steps,
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
    graceMs: options.graceMs ?? 5_000,
    duplicateSignalWindowMs: 2_000,
    now: () => clock,
  });
  const target = new EventEmitter();
  installProcessPolicy(target, policy);
  return { lines, order, exits, exitedOnce, target, policy, advance: (ms: number) => (clock += ms) };
}

describe('the process policy (main.ts)', () => {
  it('an unhandled rejection is logged as fatal and stops everything in order with exit code 1', async () => {
    const h = harness();
    const error = Object.assign(new Error('pool exploded'), { parameters: ['pbk_live_secret_value'] });
    h.target.emit('unhandledRejection', error, Promise.resolve());
    expect(await h.exitedOnce).toBe(1);
    expect(h.order).toEqual(['app', 'simulators', 'database']);
    const fatal = h.lines.find((line) => line.level === 'fatal');
    expect(fatal?.object).toMatchObject({
      kind: 'unhandledRejection',
      error: { type: 'Error', message: 'pool exploded' },
    });
    expect(JSON.stringify(h.lines)).not.toContain('pbk_live_secret_value'); // only what loggableError lets through
    expect(h.lines.findIndex((line) => line.level === 'fatal')).toBeLessThan(
      h.lines.findIndex((line) => line.level === 'info'),
    );
  });

  it('an uncaught exception does the same', async () => {
    const h = harness();
    h.target.emit('uncaughtException', new TypeError('x is not a function'));
    expect(await h.exitedOnce).toBe(1);
    expect(h.order).toEqual(['app', 'simulators', 'database']);
    expect(h.lines.find((line) => line.level === 'fatal')?.object).toMatchObject({
      kind: 'uncaughtException',
      error: { type: 'TypeError' },
    });
  });

  it('SIGTERM and SIGINT stop in order with exit code 0; the same Ctrl-C delivered twice is ignored', async () => {
    const h = harness();
    h.target.emit('SIGINT');
    h.advance(100);
    h.target.emit('SIGINT');
    expect(await h.exitedOnce).toBe(0);
    expect(h.exits).toEqual([0]);
    expect(h.order).toEqual(['app', 'simulators', 'database']);
  });

  it('a second signal well after the first exits at once with 130', () => {
    const h = harness({ steps: [{ name: 'stuck', run: () => new Promise(() => undefined) }] });
    h.target.emit('SIGTERM');
    h.advance(3_000);
    h.target.emit('SIGTERM');
    expect(h.exits).toEqual([130]);
    expect(h.lines.some((line) => line.level === 'warn' && line.message.includes('second signal'))).toBe(true);
  });

  it('a failing step is logged and the next still runs; a crash during a signal shutdown makes the exit code 1', async () => {
    const h = harness({ failing: ['app'] });
    h.target.emit('SIGTERM');
    h.target.emit('unhandledRejection', new Error('late failure'));
    expect(await h.exitedOnce).toBe(1);
    expect(h.order).toEqual(['app', 'simulators', 'database']);
    expect(h.exits).toEqual([1]);
    expect(h.lines.find((line) => line.level === 'error')?.object).toMatchObject({
      step: 'app',
      error: { message: 'app refused to stop' },
    });
  });

  it('steps that never started (a crash during start-up) are skipped', async () => {
    const h = harness({
      steps: [
        { name: 'app', run: undefined },
        { name: 'simulators', run: undefined },
        { name: 'database', run: () => Promise.resolve() },
      ],
    });
    h.target.emit('uncaughtException', new Error('boot failure'));
    expect(await h.exitedOnce).toBe(1);
  });

  it('exits non-zero after the grace period when a step hangs', () => {
    jest.useFakeTimers();
    try {
      const h = harness({ steps: [{ name: 'stuck', run: () => new Promise(() => undefined) }], graceMs: 1_000 });
      h.policy.shutdown('SIGTERM', 0);
      jest.advanceTimersByTime(1_001);
      expect(h.exits).toEqual([1]);
      expect(h.lines.some((line) => line.level === 'error' && line.message.includes('took too long'))).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
