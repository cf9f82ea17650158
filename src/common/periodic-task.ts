import { AsyncResource } from 'node:async_hooks';

/**
 * Wake-ups asked for within this span share one timer: however many are asked for, at most one
 * timer per span of the future is pending.
 */
const WAKE_GRANULARITY_MS = 100;
/**
 * Pending wake-ups at most (a long interval asked of a busy task could ask for one per span for
 * hours); past it a wake-up is dropped, and the interval's pass does that work a little later.
 */
const MAX_PENDING_WAKE_UPS = 1_000;

/**
 * Runs a job every interval, never two passes at once (a slow pass makes the next ticks skip),
 * without keeping the process alive. Stopping waits for the pass in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Extra passes asked for (runAt), by the end of their granularity span. */
  private readonly wakeUps = new Map<number, NodeJS.Timeout>();
  /** A wake-up came during a pass: run once more right after it. */
  private runAgain = false;
  private runningWoken = false;
  /** The interval ticked during a woken pass: its own pass runs right after. */
  private intervalPassOwed = false;
  private stopped = false;
  /**
   * Runs a callback in the async context the task was made in (the service's, at boot). A timer
   * carries the context of whoever set it, so without this a pass woken by runAt inside a
   * request (a throttled notification's follow-up) ran in that request's context: its log lines
   * carried that request's id, and it outlived the request by seconds.
   */
  private readonly inOwnContext = AsyncResource.bind(<T>(callback: () => T): T => callback());

  constructor(
    /** One pass; `woken` when a wake-up (runAt), not the interval, started it. */
    private readonly work: (pass: { woken: boolean }) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    this.stopped = false;
    // Made in the task's own context, so the timer neither runs nor holds anyone else's.
    this.timer = this.inOwnContext(() => setInterval(() => this.tick({ woken: false }), intervalMs));
    this.timer.unref();
  }

  /**
   * A pass at `at` (epoch ms, rounded up to WAKE_GRANULARITY_MS) besides the interval's: work
   * known to fall due then is done then, not up to an interval later. A pass running at that
   * moment is followed by one more.
   */
  runAt(at: number): void {
    if (this.stopped) return;
    const span = Math.ceil(at / WAKE_GRANULARITY_MS) * WAKE_GRANULARITY_MS;
    if (this.wakeUps.has(span) || this.wakeUps.size >= MAX_PENDING_WAKE_UPS) return;
    const timer = this.inOwnContext(() =>
      setTimeout(
        () => {
          this.wakeUps.delete(span);
          if (this.running) this.runAgain = true;
          else this.tick({ woken: true });
        },
        Math.max(0, span - Date.now()),
      ),
    );
    timer.unref();
    this.wakeUps.set(span, timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const timer of this.wakeUps.values()) clearTimeout(timer);
    this.wakeUps.clear();
    await this.running;
  }

  private tick({ woken }: { woken: boolean }): void {
    if (this.stopped) return;
    if (this.running) {
      // The interval's pass is owed, not skipped, when a wake-up's pass holds its place: a
      // stream of wake-ups must not starve what only the interval's passes do.
      if (!woken && this.runningWoken) this.intervalPassOwed = true;
      return;
    }
    this.runningWoken = woken;
    this.running = this.work({ woken })
      .then(() => undefined, this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.intervalPassOwed) {
          this.intervalPassOwed = false;
          this.runAgain = false; // the interval's pass does what a woken one would
          this.tick({ woken: false });
        } else if (this.runAgain) {
          this.runAgain = false;
          this.tick({ woken: true });
        }
      });
  }
}
