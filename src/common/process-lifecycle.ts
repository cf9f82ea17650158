import { loggableError } from './errors/error-response';

/** The part of a pino logger the process policy writes to. */
export interface LifecycleLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
  fatal(object: object, message: string): void;
}

export interface ShutdownStep {
  name: string;
  /** Undefined when that part never started (a signal or crash during start-up). */
  run: (() => Promise<unknown>) | undefined;
}

export interface ProcessPolicyOptions {
  log: LifecycleLog;
  /** The stop steps in order, read when the shutdown starts (parts started after install are included). */
  steps: () => ShutdownStep[];
  exit: (code: number) => void;
  /** After this long the process exits whatever is still running. */
  graceMs: number;
  /** A signal this soon after the first is the same Ctrl-C delivered twice (terminal and npm), not "hurry up". */
  duplicateSignalWindowMs: number;
  now?: () => number;
}

export interface ProcessPolicy {
  /** SIGINT/SIGTERM: ordered shutdown with exit code 0; a later second signal exits at once (130). */
  onSignal(signal: string): void;
  /** An unhandled rejection or uncaught exception: logged as fatal, then the ordered shutdown with exit code 1. */
  onFatal(kind: 'unhandledRejection' | 'uncaughtException', error: unknown): void;
  /** Runs the steps in order (each failure logged, the next still runs), then exits with the highest code asked for. */
  shutdown(reason: string, exitCode: number): void;
}

/**
 * What the process does when told to stop or when something escaped every handler: stop in order
 * (HTTP and the app, then the simulators, then the database) so the embedded PostgreSQL and the
 * simulator process never outlive us, and exit with a code that says whether it was a failure.
 * A crash is never silent: it is logged as fatal (without secrets) before anything else.
 */
export function createProcessPolicy(options: ProcessPolicyOptions): ProcessPolicy {
  const { log, exit } = options;
  const now = options.now ?? Date.now;
  let startedAt: number | undefined;
  let exitCode = 0;

  const shutdown = (reason: string, code: number) => {
    exitCode = Math.max(exitCode, code);
    if (startedAt !== undefined) return;
    startedAt = now();
    log.info({ reason, exitCode }, 'shutting down: draining HTTP, closing the pool, then stopping the database');
    const force = setTimeout(() => {
      log.error({ reason }, 'shutdown took too long; exiting');
      exit(Math.max(exitCode, 1));
    }, options.graceMs);
    force.unref();
    void (async () => {
      for (const step of options.steps()) {
        try {
          await step.run?.();
        } catch (error) {
          log.error({ step: step.name, error: loggableError(error) }, `error while stopping ${step.name}`);
        }
      }
      clearTimeout(force);
      exit(exitCode);
    })();
  };

  return {
    shutdown,
    onSignal(signal) {
      if (startedAt !== undefined) {
        if (now() - startedAt < options.duplicateSignalWindowMs) return;
        log.warn({ signal }, 'second signal: exiting now without waiting');
        exit(130);
        return;
      }
      shutdown(signal, 0);
    },
    onFatal(kind, error) {
      log.fatal(
        { kind, error: loggableError(error) },
        `${kind}: a failure escaped every handler; shutting down in order`,
      );
      shutdown(kind, 1);
    },
  };
}

/** Wires the policy to the process's signals and last-resort error events. */
export function installProcessPolicy(target: NodeJS.EventEmitter, policy: ProcessPolicy): void {
  target.on('SIGINT', () => policy.onSignal('SIGINT'));
  target.on('SIGTERM', () => policy.onSignal('SIGTERM'));
  target.on('unhandledRejection', (reason: unknown) => policy.onFatal('unhandledRejection', reason));
  target.on('uncaughtException', (error: unknown) => policy.onFatal('uncaughtException', error));
}
