/**
 * The floor: a payout's minimum durable SQL with nothing around it, against the same database
 * as the backend. Two commits per payout, as the service must make them: (1) claim the
 * idempotency key and insert the payout and its first event; (2) after the provider answered,
 * update the payout, add its event and outbox row and store the answer. Run by pgbench when it
 * is installed (the C client costs almost nothing), else by a bare node-postgres loop; the
 * result says which. Tables of its own (bench_floor_*), shaped like the service's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

export interface FloorResult {
  tool: 'pgbench' | 'node-postgres';
  clients: number;
  payoutsPerSecond: number;
  /** Mean time of one payout's two commits, from the client's side. */
  meanLatencyMs: number;
}

const SCHEMA = `
DROP TABLE IF EXISTS bench_floor_outbox, bench_floor_events, bench_floor_payouts, bench_floor_keys;
CREATE TABLE bench_floor_keys (api_key_id uuid NOT NULL, idempotency_key text NOT NULL, request_hash text NOT NULL,
  payout_id uuid NOT NULL, response_status int, response_body jsonb, expires_at timestamptz NOT NULL,
  PRIMARY KEY (api_key_id, idempotency_key));
CREATE TABLE bench_floor_payouts (id uuid PRIMARY KEY, provider text NOT NULL, environment text NOT NULL,
  status text NOT NULL, amount numeric(20,6) NOT NULL, currency char(3) NOT NULL, beneficiary jsonb NOT NULL,
  reference text, provider_reference text, provider_status text, next_check_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON bench_floor_payouts (created_at DESC, id);
CREATE INDEX ON bench_floor_payouts (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE TABLE bench_floor_events (id bigserial PRIMARY KEY, payout_id uuid NOT NULL, type text NOT NULL,
  from_status text, to_status text, detail jsonb NOT NULL, occurred_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON bench_floor_events (payout_id, id);
CREATE TABLE bench_floor_outbox (id bigserial PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL,
  next_attempt_at timestamptz NOT NULL DEFAULT now());
`;

// gen_random_uuid() keeps ids server-side; the payload sizes match a real payout's.
const FIRST_COMMIT = `BEGIN;
INSERT INTO bench_floor_keys (api_key_id, idempotency_key, request_hash, payout_id, expires_at)
  VALUES ('00000000-0000-0000-0000-000000000001', md5(random()::text), md5(random()::text), :id, now() + interval '1 day');
INSERT INTO bench_floor_payouts (id, provider, environment, status, amount, currency, beneficiary, reference)
  VALUES (:id, 'd24', 'simulator', 'requested', 10.00, 'BRL', '{"sealed":"${'x'.repeat(300)}"}', 'bench');
INSERT INTO bench_floor_events (payout_id, type, to_status, detail) VALUES (:id, 'created', 'requested', '{}');
COMMIT;`;

const SECOND_COMMIT = `BEGIN;
SELECT status FROM bench_floor_payouts WHERE id = :id FOR UPDATE;
UPDATE bench_floor_payouts SET status = 'pending', provider_reference = '1234567', provider_status = 'PENDING',
  next_check_at = now() + interval '5 seconds', updated_at = now() WHERE id = :id;
INSERT INTO bench_floor_events (payout_id, type, from_status, to_status, detail)
  VALUES (:id, 'status_changed', 'requested', 'pending', '{"source":"create"}');
INSERT INTO bench_floor_outbox (type, payload) VALUES ('payout.pending', '{"id":"x","status":"pending"}');
UPDATE bench_floor_keys SET response_status = 201, response_body = '{"id":"x","status":"pending"}'
  WHERE api_key_id = '00000000-0000-0000-0000-000000000001' AND payout_id = :id;
COMMIT;`;

function pgbenchScript(): string {
  // One script run = one payout. pgbench has no uuid variables: the id is derived on the server
  // from a random 63-bit integer, the same in every statement of the run.
  const withId = (sql: string) => sql.replace(/:id/g, 'md5(:n::text)::uuid');
  return `\\set n random(1, 9223372036854775806)\n${withId(FIRST_COMMIT)}\n${withId(SECOND_COMMIT)}\n`;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}: ${output}`)),
    );
  });
}

async function hasPgbench(): Promise<boolean> {
  return run('pgbench', ['--version'], process.env).then(
    () => true,
    () => false,
  );
}

async function viaPgbench(databaseUrl: string, clients: number, seconds: number): Promise<FloorResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-floor-'));
  try {
    const script = path.join(dir, 'payout.sql');
    writeFileSync(script, pgbenchScript());
    const output = await run(
      'pgbench',
      [
        '--no-vacuum',
        '-n',
        '-f',
        script,
        '-c',
        String(clients),
        '-j',
        String(Math.min(clients, 2)),
        '-T',
        String(seconds),
        databaseUrl,
      ],
      process.env,
    );
    const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? NaN);
    const latency = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1] ?? NaN);
    if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${output}`);
    return {
      tool: 'pgbench',
      clients,
      payoutsPerSecond: Math.round(tps),
      meanLatencyMs: Math.round(latency * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function viaNodePostgres(databaseUrl: string, clients: number, seconds: number): Promise<FloorResult> {
  const until = Date.now() + seconds * 1000;
  let payouts = 0;
  let busyMs = 0;
  const worker = async () => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      while (Date.now() < until) {
        const started = performance.now();
        const { rows } = await client.query<{ id: string }>('SELECT gen_random_uuid() AS id');
        const id = `'${rows[0].id}'::uuid`;
        for (const statement of [FIRST_COMMIT, SECOND_COMMIT].flatMap((block) => block.split(';\n'))) {
          const sql = statement.trim().replace(/:id/g, id);
          if (sql) await client.query(sql);
        }
        busyMs += performance.now() - started;
        payouts += 1;
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return {
    tool: 'node-postgres',
    clients,
    payoutsPerSecond: Math.round(payouts / seconds),
    meanLatencyMs: Math.round((busyMs / Math.max(payouts, 1)) * 100) / 100,
  };
}

/** Measures the floor with 1 and with `clients` clients. */
export async function measureFloor(databaseUrl: string, clients: number, seconds: number): Promise<FloorResult[]> {
  const setup = new Client({ connectionString: databaseUrl });
  await setup.connect();
  try {
    await setup.query(SCHEMA);
  } finally {
    await setup.end();
  }
  const usePgbench = await hasPgbench();
  const measure = usePgbench ? viaPgbench : viaNodePostgres;
  const results: FloorResult[] = [];
  for (const n of [1, clients]) results.push(await measure(databaseUrl, n, seconds));
  return results;
}
