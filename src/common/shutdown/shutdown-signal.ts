import { Global, Injectable, Logger, Module } from '@nestjs/common';

/**
 * The moment a graceful shutdown begins (closeGracefully), for the background work that takes
 * new work on its own: the reconciler, the batch runner and the event dispatcher. Nest tells
 * them to stop only when the modules are destroyed, after the drain and the wait for requests in
 * flight (up to 7.5 s), and until then they kept claiming: a batch row sent in that time could
 * still be waiting for its provider when the forced exit came, and be left for the reconciler.
 * From this signal on they finish what they have started and claim nothing new; the durable
 * state (rows, due checks, the outbox) is there for the next start or another replica.
 */
@Injectable()
export class ShutdownSignal {
  private readonly logger = new Logger('Shutdown');
  private readonly listeners = new Set<() => void>();
  private started = false;

  /** Calls `listener` once, when the shutdown begins (at once if it has begun). */
  onBegin(listener: () => void): void {
    if (this.started) listener();
    else this.listeners.add(listener);
  }

  begin(): void {
    if (this.started) return;
    this.started = true;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        // One component failing to stop must not keep the others going.
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'a background stop failed');
      }
    }
    this.listeners.clear();
  }
}

@Global()
@Module({ providers: [ShutdownSignal], exports: [ShutdownSignal] })
export class ShutdownModule {}
