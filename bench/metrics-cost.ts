import { Metrics } from '../src/observability/metrics';

/**
 * What the Prometheus metrics cost the API per payout, measured in one bench run: how many metric
 * updates the API made during the D24 scenario (the difference of two scrapes of its /metrics:
 * every counter increment and histogram observation shows in a `_total` or `_count`) times what
 * one update costs (timed here on the same Metrics class, the same label sets), against the API
 * CPU per payout that scenario measured.
 */
export interface MetricsCost {
  updatesPerPayout: number;
  nanosecondsPerUpdate: number;
  microsecondsPerPayout: number;
  /** The share of the API's CPU per payout spent on metrics, in percent. */
  shareOfApiCpuPercent: number;
}

/** Our own metrics' update counts (the Node defaults are sampled at scrape time, not per request). */
export function metricUpdates(exposition: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    const match = /^(\w+?)(_total|_count)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1].startsWith('nodejs_') || match[1].startsWith('process_')) continue;
    total += Number(match[3]);
  }
  return total;
}

/** Mean cost of one update over the mix a payout makes (a histogram observation, a labelled counter, a payout move). */
function nanosecondsPerUpdate(): number {
  const metrics = new Metrics();
  const routes = ['/v1/payouts', '/v1/payouts/:id', '/v1/webhooks/d24'];
  const updates: Array<(i: number) => void> = [
    (i) => metrics.httpRequestDuration.observe({ method: 'POST', route: routes[i % 3], status: '201' }, 0.01),
    (i) =>
      metrics.providerCallDuration.observe(
        { provider: 'd24', environment: 'simulator', operation: i % 2 ? 'create' : 'status', outcome: '2xx' },
        0.02,
      ),
    () => metrics.webhooks.inc({ provider: 'd24', outcome: 'accepted', reason: 'applied' }),
    () => metrics.payoutCreated({ provider: 'd24', environment: 'simulator' }),
    // Two updates (transition and finished) and one observation.
    () =>
      metrics.payoutMoved(
        { provider: 'd24', environment: 'simulator', status: 'completed', createdAt: new Date() },
        { final: true },
      ),
  ];
  const perRound = 7;
  const rounds = 200_000;
  for (let i = 0; i < 10_000; i++) for (const update of updates) update(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) for (const update of updates) update(i);
  return Number(process.hrtime.bigint() - started) / (rounds * perRound);
}

export function metricsCost(options: {
  updatesDuringRun: number;
  payouts: number;
  apiCpuMsPerPayout: number;
}): MetricsCost {
  const updatesPerPayout = options.updatesDuringRun / Math.max(options.payouts, 1);
  const perUpdate = nanosecondsPerUpdate();
  const microsecondsPerPayout = (updatesPerPayout * perUpdate) / 1_000;
  return {
    updatesPerPayout: Math.round(updatesPerPayout * 10) / 10,
    nanosecondsPerUpdate: Math.round(perUpdate),
    microsecondsPerPayout: Math.round(microsecondsPerPayout * 10) / 10,
    shareOfApiCpuPercent:
      Math.round((microsecondsPerPayout / 1_000 / Math.max(options.apiCpuMsPerPayout, 0.001)) * 100 * 100) / 100,
  };
}
