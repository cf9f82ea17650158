import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { MetricsServer } from '../../src/observability/metrics-server';
import { brazilianAccount } from '../support/beneficiaries';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { admin as simulatorAdmin, eventually } from '../support/sim-client';
import { bearer, startTestApp } from '../support/test-app';

/** One sample of the exposition text: its metric name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the lines this service writes: no timestamps, escaped label values). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name)
    .filter((sample) => Object.entries(labels).every(([label, value]) => sample.labels[label] === value))
    .reduce((total, sample) => total + sample.value, 0);
}

describe('Prometheus metrics', () => {
  let world: ProviderWorld;
  const http = () => world.t.http;
  const adminKey = () => bearer(world.t.adminKey);
  const scrape = async (key: string) => {
    const answer = await http().get('/metrics').set(bearer(key));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return { text: answer.text, samples: parseExposition(answer.text) };
  };

  beforeAll(async () => {
    world = await startProviderWorld({}, 71);
  });
  afterAll(() => world.close());

  it('is served only to a key with metrics:read', async () => {
    expect((await http().get('/metrics')).status).toBe(401);
    const reader = await http()
      .post('/v1/api-keys')
      .set(adminKey())
      .send({ name: 'payouts-only', scopes: ['payouts:read'] });
    const refused = await http().get('/metrics').set(bearer(reader.body.key));
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
  });

  it('counts a payout flow, a rejected webhook and a provider fault, with no secret, account or reference in any label', async () => {
    const scraper = await http()
      .post('/v1/api-keys')
      .set(adminKey())
      .send({ name: 'prometheus', scopes: ['metrics:read'] });
    expect(scraper.status).toBe(201);
    const before = (await scrape(scraper.body.key)).samples;

    // A payout, all the way to completed on the D24 simulator.
    const beneficiary = brazilianAccount({ bankAccount: '0987654321' });
    const reference = `invoice-${randomUUID()}`;
    const idempotencyKey = randomUUID();
    const created = await http()
      .post('/v1/payouts')
      .set(adminKey())
      .set('Idempotency-Key', idempotencyKey)
      .send({ provider: 'd24', environment: 'simulator', amount: '12.34', currency: 'BRL', reference, beneficiary });
    expect(created.status).toBe(201);
    const payoutId = created.body.id as string;
    await eventually(
      async () => (await http().get(`/v1/payouts/${payoutId}`).set(adminKey())).body.status as string,
      (status) => status === 'completed',
      20_000,
    );

    // A forged notification: its control string is wrong.
    const forged = await http()
      .post('/v1/webhooks/d24')
      .type('form')
      .send({ external_id: payoutId, control: 'f'.repeat(64) });
    expect(forged.status).toBeGreaterThanOrEqual(400);

    // A provider fault: D24 answers 500 to a status read.
    await simulatorAdmin(world.sims, 'PUT', '/d24/faults', {
      route: 'POST /v3/cashout/status',
      settings: { errorRate: 1 },
    });
    try {
      await expect(world.registry.get('d24', 'simulator').getPayout({ externalId: payoutId })).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
      });
    } finally {
      await simulatorAdmin(world.sims, 'DELETE', '/d24/faults');
    }

    const { text, samples } = await scrape(scraper.body.key);
    const grew = (name: string, labels: Record<string, string> = {}) =>
      sum(samples, name, labels) - sum(before, name, labels);

    expect(grew('payouts_created_total', { provider: 'd24', environment: 'simulator' })).toBe(1);
    expect(grew('payouts_finished_total', { provider: 'd24', environment: 'simulator', status: 'completed' })).toBe(1);
    expect(grew('payout_time_to_final_seconds_count', { provider: 'd24', status: 'completed' })).toBe(1);
    expect(grew('http_request_duration_seconds_count', { method: 'POST', route: '/v1/payouts', status: '201' })).toBe(
      1,
    );
    expect(
      grew('http_request_duration_seconds_count', { method: 'GET', route: '/v1/payouts/:id', status: '200' }),
    ).toBeGreaterThan(0);
    expect(grew('provider_call_duration_seconds_count', { provider: 'd24', operation: 'create', outcome: '2xx' })).toBe(
      1,
    );
    expect(grew('provider_call_errors_total', { provider: 'd24', code: 'PROVIDER_UNAVAILABLE' })).toBeGreaterThan(0);
    expect(grew('webhooks_received_total', { provider: 'd24', outcome: 'rejected', reason: 'unverified' })).toBe(1);
    expect(grew('webhooks_received_total', { provider: 'd24', outcome: 'accepted' })).toBeGreaterThan(0);
    expect(
      sum(samples, 'provider_circuit_state', { provider: 'd24', environment: 'simulator' }),
    ).toBeGreaterThanOrEqual(0);
    expect(
      samples.some((sample) => sample.name === 'provider_tls_handshakes_total' && sample.labels.provider === 'd24'),
    ).toBe(true);
    for (const gauge of [
      'reconciler_backlog',
      'reconciler_oldest_due_seconds',
      'outbox_backlog',
      'outbox_oldest_pending_seconds',
    ])
      expect(samples.some((sample) => sample.name === gauge)).toBe(true);
    expect(
      samples.filter(
        (sample) => sample.name === 'credential_expiry_days' && sample.labels.kind === 'mtls_client_certificate',
      ).length,
    ).toBeGreaterThan(0);
    expect(
      samples.some((sample) => sample.name === 'database_pool_connections' && sample.labels.state === 'in_use'),
    ).toBe(true);
    expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(samples.some((sample) => sample.name === 'process_resident_memory_bytes')).toBe(true);

    // No label value carries a secret, an account, a document, a reference, an id or a key.
    const forbidden = [
      world.t.adminKey,
      scraper.body.key as string,
      idempotencyKey,
      payoutId,
      reference,
      String(beneficiary.bankAccount),
      String(beneficiary.documentId),
    ];
    const values = samples.flatMap((sample) => Object.values(sample.labels));
    for (const secret of forbidden) {
      expect(values.filter((value) => value.includes(secret))).toEqual([]);
      expect(text.includes(secret)).toBe(false);
    }
    // Route labels are templates: never a concrete id.
    const routes = samples.flatMap((sample) => (sample.labels.route ? [sample.labels.route] : []));
    expect(routes.filter((route) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(route))).toEqual([]);
  });

  it('METRICS=port serves them on a listener of its own, not on the API port', async () => {
    const app = await startTestApp({ env: { METRICS: 'port', METRICS_PORT: '0' } });
    try {
      const address = app.app.get(MetricsServer).address();
      expect(address).not.toBeNull();
      const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: address?.port, path: '/metrics' }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        })
          .on('error', reject)
          .end();
      });
      expect(body.status).toBe(200);
      expect(body.text).toContain('http_request_duration_seconds');
      const onApi = await app.http.get('/metrics').set(bearer(app.adminKey));
      expect([onApi.status, onApi.body.error.code]).toEqual([404, 'NOT_FOUND']);
    } finally {
      await app.close();
    }
  });
});
