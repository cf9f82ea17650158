/** Timers a simulator schedules its status changes with; all cleared when it stops. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  later(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      work();
    }, ms);
    timer.unref();
    this.pending.add(timer);
  }

  clear(): void {
    this.pending.forEach(clearTimeout);
    this.pending.clear();
  }
}
