/**
 * At most one log line per key per interval, however often the thing it reports happens (a flood
 * of forged notifications, of connections over the cap, of deliveries that meet the same broken
 * secret): each occurrence is counted, and the line that is due says how many came since the last.
 */
export class LogThrottle {
  private readonly entries = new Map<string, { sinceLastLine: number; total: number; loggedAt: number }>();

  constructor(
    private readonly intervalMs: number,
    /** Keys remembered at most (the map is emptied past it: a key then logs once more, no worse). */
    private readonly maxKeys = 10_000,
  ) {}

  /**
   * Counts one occurrence of `key`. Returns the counts for the line when one is due (the first
   * occurrence, then the first after each interval), else null.
   */
  occurred(key: string, now = Date.now()): { sinceLastLine: number; total: number } | null {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.maxKeys) this.entries.clear();
      entry = { sinceLastLine: 0, total: 0, loggedAt: Number.NEGATIVE_INFINITY };
      this.entries.set(key, entry);
    }
    entry.sinceLastLine += 1;
    entry.total += 1;
    if (now - entry.loggedAt < this.intervalMs) return null;
    const due = { sinceLastLine: entry.sinceLastLine, total: entry.total };
    entry.sinceLastLine = 0;
    entry.loggedAt = now;
    return due;
  }
}
