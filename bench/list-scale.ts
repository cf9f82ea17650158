/**
 * Lists at scale: seeds the bench's database with a large number of payouts in one SQL statement,
 * then measures GET /v1/payouts through the API for the filters a back office uses. Run last by
 * bench/run.ts (the seeded rows would otherwise sit under every other scenario).
 */
import autocannon from 'autocannon';
import { Client } from 'pg';

export interface ListQueryResult {
  name: string;
  query: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

export interface ListScaleResult {
  payouts: number;
  seedSeconds: number;
  connections: number;
  durationSeconds: number;
  queries: ListQueryResult[];
}

/**
 * Three providers, a tenth of each on its live environment, statuses as a running service has
 * them (mostly completed; a few pending, failed, rejected, on hold, unknown), spread evenly over
 * the last 90 days, 100,000 distinct references. The sealed beneficiary columns hold random bytes
 * of a real row's sizes (a 60-byte wrapped data key, a 300-byte ciphertext): lists never open
 * them, but a list that selected them would pay for their bytes, and non-null keeps the sealing
 * job away from these rows.
 */
const SEED = `
INSERT INTO payouts (id, provider, environment, status, amount, currency, beneficiary, beneficiary_master_key_id,
  beneficiary_wrapped_key, beneficiary_ciphertext, beneficiary_fingerprint, reference, metadata, provider_reference,
  provider_status, created_at, updated_at, next_check_at, check_attempts)
SELECT gen_random_uuid(), p.provider,
  CASE WHEN i % 10 = 0 THEN p.live ELSE 'simulator' END,
  CASE WHEN i % 1000 = 0 THEN 'unknown' WHEN i % 500 = 1 THEN 'on_hold' WHEN i % 100 = 2 THEN 'failed'
       WHEN i % 40 = 3 THEN 'pending' WHEN i % 200 = 4 THEN 'rejected' ELSE 'completed' END,
  round((i % 100000) / 100.0, 2), p.currency,
  jsonb_build_object('type', 'iban', 'name', 'Bench ' || (i % 977), 'iban', '…' || lpad((i % 10000)::text, 4, '0')),
  'bench', substring(decode(repeat(md5(i::text), 4), 'hex') FROM 1 FOR 60),
  substring(decode(repeat(md5((-i)::text), 19), 'hex') FROM 1 FOR 300), md5(i::text) || md5((-i)::text),
  'order-' || (i % 100000), '{}'::jsonb, p.provider || '-' || i, 'COMPLETED',
  now() - i * (interval '90 days' / $1::int), now() - i * (interval '90 days' / $1::int), NULL, 0
FROM generate_series(1, $1::int) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['d24', 'connectpay', 'verestro'])[1 + i % 3] AS provider,
  (ARRAY['prod', 'prod', 'production'])[1 + i % 3] AS live,
  (ARRAY['BRL', 'EUR', 'PLN'])[1 + i % 3] AS currency) AS p`;

export async function measureListScale(options: {
  databaseUrl: string;
  apiUrl: string;
  auth: Record<string, string>;
  payouts: number;
  connections: number;
  durationSeconds: number;
  progress: (line: string) => void;
}): Promise<ListScaleResult> {
  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  let seedSeconds: number;
  let middle: { created_at: Date; id: string };
  try {
    options.progress(`seeding ${options.payouts.toLocaleString('en')} payouts …\n`);
    const started = performance.now();
    await client.query(SEED, [options.payouts]);
    // As autovacuum would soon after a bulk load: measured now, it would run under the queries.
    await client.query('VACUUM ANALYZE payouts');
    seedSeconds = Math.round((performance.now() - started) / 100) / 10;
    [middle] = (
      await client.query<{ created_at: Date; id: string }>(
        'SELECT created_at, id FROM payouts ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1',
        [Math.floor(options.payouts / 2)],
      )
    ).rows;
  } finally {
    await client.end();
  }
  const day = 24 * 3_600_000;
  const now = Date.now();
  // The API's cursor (base64url of "createdAt|id"), built for the row in the middle, so the page
  // is half a table deep without following thousands of pages to get there.
  const deepCursor = Buffer.from(`${middle.created_at.toISOString()}|${middle.id}`).toString('base64url');
  const queries: Array<[string, string]> = [
    ['newest first', 'limit=20'],
    ['a rare status (0.1%)', 'status=unknown&limit=20'],
    ['provider and environment', 'provider=verestro&environment=production&limit=20'],
    ['provider, environment and a rare status', 'provider=verestro&environment=production&status=unknown&limit=20'],
    ['by reference', 'reference=order-4242&limit=20'],
    [
      'one day, 30 days ago, failed',
      `createdFrom=${new Date(now - 30 * day).toISOString()}&createdTo=${new Date(now - 29 * day).toISOString()}&status=failed&limit=20`,
    ],
    ['a page half the table deep', `cursor=${deepCursor}&limit=20`],
  ];
  // One unmeasured second of each query first, as every other run has its warm-up: the list path
  // is new to the API's JIT here (the runs before it created payouts), and the first query measured
  // would otherwise carry its compilation.
  for (const [, query] of queries)
    await autocannon({
      url: `${options.apiUrl}/v1/payouts?${query}`,
      headers: options.auth,
      connections: options.connections,
      duration: 1,
    });
  const results: ListQueryResult[] = [];
  for (const [name, query] of queries) {
    options.progress(`  ${name} …\n`);
    const result = await autocannon({
      url: `${options.apiUrl}/v1/payouts?${query}`,
      headers: options.auth,
      connections: options.connections,
      duration: options.durationSeconds,
    });
    results.push({
      name,
      query,
      requestsPerSecond: Math.round(result.requests.average),
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    });
  }
  return {
    payouts: options.payouts,
    seedSeconds,
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    queries: results,
  };
}
