import { pausesBetween } from '../../bench/pauses';
import { Metrics } from '../../src/observability/metrics';

/** The bench reads the API's own exposition: the names and labels must be prom-client's as the service renders them. */
describe("the bench's pauses, read from the service's /metrics", () => {
  it('counts every collection made between two scrapes, by kind, and reads how late the event loop ran', async () => {
    const metrics = new Metrics();
    const atStart = (await metrics.render()).body;
    // Short-lived garbage well past the young generation's size: scavenges, for certain.
    let kept = 0;
    for (let round = 0; round < 80; round++) kept += new Array(100_000).fill(round).length;
    expect(kept).toBe(8_000_000);
    // GC entries reach the observer asynchronously, and the event-loop histogram needs a few samples.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const atEnd = (await metrics.render()).body;

    const pauses = pausesBetween(atStart, atEnd);
    // Every scavenge of the loop is counted, though Node hands them to observers in one batch
    // (prom-client's own observer counted the first of a batch only: 1 here).
    expect(pauses.gc.minor?.count ?? 0).toBeGreaterThan(2);
    expect(pauses.gc.minor?.totalMs ?? 0).toBeGreaterThanOrEqual(0);
    // Less the 20 ms sampling interval: never negative, and an idle wait reads near 0.
    expect(pauses.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(0);
    expect(pauses.eventLoopDelayP99Ms).toBeLessThanOrEqual(pauses.eventLoopDelayMaxMs);
    metrics.onModuleDestroy();
  });

  it('reports only what happened between the scrapes', () => {
    const at = (major: number, seconds: number) =>
      `nodejs_gc_duration_seconds_count{kind="major"} ${major}\nnodejs_gc_duration_seconds_sum{kind="major"} ${seconds}\n` +
      'nodejs_eventloop_lag_p99_seconds 0.0287\nnodejs_eventloop_lag_max_seconds 0.0329\n';
    const pauses = pausesBetween(at(10, 0.1), at(13, 0.1232));
    expect(pauses.gc.major).toEqual({ count: 3, totalMs: 23.2 });
    expect(pauses.eventLoopDelayP99Ms).toBe(8.7);
    expect(pauses.eventLoopDelayMaxMs).toBe(12.9);
  });

  it('refuses an exposition without the figures it reads, rather than reading it as no pauses', () => {
    expect(() => pausesBetween('', 'process_cpu_seconds_total 1\n')).toThrow(/nodejs_gc_duration_seconds/);
    const gcOnly =
      'nodejs_gc_duration_seconds_count{kind="minor"} 1\nnodejs_gc_duration_seconds_sum{kind="minor"} 0.001\n';
    expect(() => pausesBetween('', gcOnly)).toThrow(/nodejs_eventloop_lag_p99_seconds/);
  });
});
