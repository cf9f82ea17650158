/**
 * The work's outcome, or `message` as an error once `ms` have passed, whichever comes first. The
 * work itself goes on (a promise cannot be stopped): what holds a resource must free it when it
 * ends, not when the caller stops waiting.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
