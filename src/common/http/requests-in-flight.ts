import type { NextFunction, Request, Response } from 'express';

/**
 * Counts the requests the app is still working on: from their arrival until the app ends or
 * destroys their answer, whether or not the client is still connected.
 *
 * A shutdown cuts the connections still open after its drain time, but cutting a connection does
 * not stop the handler behind it: a payout whose provider answers a second later still has an
 * answer to record. The shutdown waits for these requests (closeGracefully, a bound on top of the
 * drain) before it stops the modules and closes the database pool under them; without the wait,
 * the answer was lost to a closed pool and the payout left for the reconciler to find out about.
 *
 * The answer's end is where a request is over for the app: Nest ends it after the handler has
 * returned or thrown, a stream (CSV downloads, writeCsv) ends or destroys it, and a request
 * refused before its handler (a body that never arrived) is answered by the error middleware. A
 * cut connection does neither (Node marks the answer closed without calling either), so the
 * handler is still counted until it is done.
 *
 * Counted here rather than in a Nest interceptor: on Node 20 a global interceptor added 0.1–0.4 ms
 * of API CPU per request in an interleaved A/B (autocannon on GET /v1/payouts?limit=1; Nest binds
 * an AsyncResource per request, and Node 20 builds a deprecation wrapper for each bind), for a
 * count this middleware keeps in microseconds.
 */
export class RequestsInFlight {
  private running = 0;
  private readonly waiting = new Set<() => void>();

  /** First in the app's middleware: counts the request and hooks its answer's end. */
  readonly count = (request: Request, response: Response, next: NextFunction): void => {
    const over = this.started();
    counters.set(request, this);
    const end = response.end.bind(response) as (...args: unknown[]) => Response;
    const destroy = response.destroy.bind(response);
    response.end = (...args: unknown[]) => {
      over();
      return end(...args);
    };
    response.destroy = (error?: Error) => {
      over();
      return destroy(error);
    };
    // A request no route took (Swagger UI's files, a body that never arrived) has no handler
    // behind it: when its connection closes it is over, even if whatever was piping into the
    // answer (a static file) never ends or destroys it. A route's handler may still be working
    // then, so a routed request waits for its end as above.
    response.once('close', () => {
      if (request.route === undefined) over();
    });
    next();
  };

  /** Counts one more piece of work; the function it returns ends it (once, however often it is called). */
  private started(): () => void {
    this.running++;
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.running--;
      if (this.running === 0) for (const done of [...this.waiting]) done();
    };
  }

  /** Runs `work` once the current turn of the event loop is over, counted as a request until it settles. */
  runCounted(work: () => Promise<unknown>): void {
    const over = this.started();
    // Through a promise, so a `work` that throws at once still ends its count and throws nowhere.
    setImmediate(() => {
      Promise.resolve().then(work).then(over, over);
    });
  }

  /** Resolves with the requests still being worked on once there are none, or when `withinMs` has passed. */
  settled(withinMs: number): Promise<number> {
    if (this.running === 0 || withinMs <= 0) return Promise.resolve(this.running);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(this.running);
      };
      const timer = setTimeout(done, withinMs);
      this.waiting.add(done);
    });
  }
}

/** The counter each request was counted by (the app's), for work that outlives its answer. */
const counters = new WeakMap<Request, RequestsInFlight>();

/**
 * Runs `work` after the request is answered (a provider that wants its answer within seconds gets
 * it before the work starts), still counted as that request's: a shutdown waits for it as it
 * waits for a handler, instead of closing the pool under it. `work` must handle its own failures;
 * whatever it rejects with is dropped.
 */
export function afterAnswer(request: Request, work: () => Promise<unknown>): void {
  const counter = counters.get(request);
  if (counter) counter.runCounted(work);
  else
    setImmediate(
      () =>
        void Promise.resolve()
          .then(work)
          .catch(() => undefined),
    );
}
