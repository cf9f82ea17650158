import { EVENT_LOOP_SAMPLING_MS } from '../src/observability/metrics';

/**
 * Where a run's latency tail can come from inside the API, read from its own /metrics (prom-client's
 * Node defaults): garbage collections by kind and the time they took, and how late the event loop
 * ran. Scraped when a run's measured part begins and again after its payouts settled, so the figures
 * are the run's: the GC counters are differences, and prom-client restarts its event-loop delay
 * histogram at every scrape.
 *
 * This tells a tail spent with the event loop held (a long GC, a long synchronous task: the delay
 * grows) from one spent waiting on something outside the process (PostgreSQL flushing its WAL
 * behind a vacuum, a provider: the delay stays low while requests take longer).
 */
export interface Pauses {
  /** Collections during the run, by kind (major, minor, incremental, weakcb), and their total time in ms. */
  gc: Record<string, { count: number; totalMs: number }>;
  /**
   * How late the event loop ran over the run, ms: prom-client's figures less the sampling interval
   * they include (EVENT_LOOP_SAMPLING_MS), so an idle loop reads about 0.
   */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

interface GcCounters {
  [kind: string]: { count: number; seconds: number };
}

function gcCounters(exposition: string): GcCounters {
  const counters: GcCounters = {};
  for (const line of exposition.split('\n')) {
    // Other labels (a default label the service may add one day) are allowed around kind.
    const match = /^nodejs_gc_duration_seconds_(count|sum)\{(?:[^}]*,)?kind="(\w+)"[^}]*\} (\S+)$/.exec(line);
    if (!match) continue;
    const entry = (counters[match[2]] ??= { count: 0, seconds: 0 });
    if (match[1] === 'count') entry.count = Number(match[3]);
    else entry.seconds = Number(match[3]);
  }
  return counters;
}

/** A gauge's value; a gauge missing from the exposition is an error, not a punctual event loop. */
function gauge(exposition: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(exposition);
  if (!match) throw new Error(`${name} is not in the API's /metrics: the pauses cannot be read`);
  return Number(match[1]);
}

/** The run's pauses from the exposition scraped at its start and the one scraped at its end. */
export function pausesBetween(atStart: string, atEnd: string): Pauses {
  const before = gcCounters(atStart);
  const after = gcCounters(atEnd);
  if (Object.keys(after).length === 0)
    throw new Error("nodejs_gc_duration_seconds is not in the API's /metrics: the pauses cannot be read");
  const gc: Pauses['gc'] = {};
  for (const [kind, end] of Object.entries(after)) {
    const start = before[kind] ?? { count: 0, seconds: 0 };
    gc[kind] = {
      count: end.count - start.count,
      totalMs: Math.round((end.seconds - start.seconds) * 1000 * 10) / 10,
    };
  }
  const lateMs = (seconds: number) => Math.max(0, Math.round((seconds * 1000 - EVENT_LOOP_SAMPLING_MS) * 10) / 10);
  return {
    gc,
    eventLoopDelayP99Ms: lateMs(gauge(atEnd, 'nodejs_eventloop_lag_p99_seconds')),
    eventLoopDelayMaxMs: lateMs(gauge(atEnd, 'nodejs_eventloop_lag_max_seconds')),
  };
}

/** One line for the report: "GC major 2 (31 ms), minor 180 (410 ms); event loop late p99 9 ms, max 13 ms". */
export function describePauses(pauses: Pauses): string {
  const kinds = ['major', 'minor', 'incremental']
    .filter((kind) => pauses.gc[kind])
    .map((kind) => `${kind} ${pauses.gc[kind].count} (${pauses.gc[kind].totalMs} ms)`);
  return `GC ${kinds.join(', ') || 'none'}; event loop late p99 ${pauses.eventLoopDelayP99Ms} ms, max ${pauses.eventLoopDelayMaxMs} ms`;
}
