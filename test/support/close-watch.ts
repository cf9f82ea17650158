import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { closeGracefully } from '../../src/common/http/server-limits';

/** After this long, a close still running is described on stderr (a suite's hooks time out at 30 s). */
const STALL_REPORT_MS = 12_000;
const SHUTDOWN_HOOKS = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'] as const;

/**
 * `closeGracefully(app)` (as main.ts closes it), and, when it has not finished after STALL_REPORT_MS, a line on stderr naming the
 * shutdown hooks still running, the resources keeping the loop busy and the app's last log lines.
 * A suite whose teardown hangs then says where, instead of only "Exceeded timeout for a hook".
 * It never hides the stall: the close is still awaited to its end.
 */
export async function closeWatched(app: INestApplication, lastLogLines: () => string[]): Promise<void> {
  const running = new Map<string, number>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.providers.values()) {
      const instance = wrapper.instance as Record<string, unknown> | null | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const hook of SHUTDOWN_HOOKS) {
        const original = instance[hook];
        if (typeof original !== 'function') continue;
        const name = `${String(wrapper.name)}.${hook}`;
        instance[hook] = async (...args: unknown[]) => {
          running.set(name, Date.now());
          try {
            return await (original as (...a: unknown[]) => unknown).apply(instance, args);
          } finally {
            running.delete(name);
          }
        };
      }
    }
  }
  await reportIfSlow(
    'app.close()',
    () => closeGracefully(app),
    () => {
      const hooks = [...running].map(([name, since]) => `${name} (${Date.now() - since} ms)`);
      return (
        `Hooks still running: ${hooks.join(', ') || 'none (the HTTP server or the database connection is closing)'}. ` +
        `Last log lines:\n${lastLogLines().slice(-15).join('\n')}`
      );
    },
  );
}

/**
 * `work()`, with a line on stderr when it has not finished after STALL_REPORT_MS (for teardown
 * steps): how long, the loop's active resources, and what `more` says then.
 */
export async function reportIfSlow<T>(label: string, work: () => Promise<T>, more?: () => string): Promise<T> {
  const started = Date.now();
  const report = setTimeout(
    () =>
      process.stderr.write(
        `${label} has run for ${Date.now() - started} ms. Active resources: ${process.getActiveResourcesInfo().join(', ')}. ${more?.() ?? ''}\n`,
      ),
    STALL_REPORT_MS,
  );
  try {
    return await work();
  } finally {
    clearTimeout(report);
  }
}
