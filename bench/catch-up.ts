/**
 * Catch-up after an outage: a backlog of payouts whose check is overdue, drained by the API's
 * reconciler against the D24 simulator, first by one replica, then by two sharing the database.
 * The payouts exist at the simulator (created there directly) and in the database (seeded by SQL,
 * pending, check due a minute ago), as after an outage that held their status changes back.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:https';
import { createHmac } from 'node:crypto';
import { Client } from 'pg';

export interface CatchUpRun {
  replicas: number;
  payouts: number;
  /** From the first payout checked to the last. */
  drainSeconds: number;
  payoutsPerSecond: number;
  /** Status fetches the simulator answered beyond one per payout (0: no payout checked twice). */
  extraChecks: number;
  /** Payouts not completed when the run gave up (0 unless something is wrong). */
  left: number;
}

export interface CatchUpOptions {
  databaseUrl: string;
  d24Url: string;
  ca: string;
  d24Keys: { apiKey: string; apiPassphrase: string; apiSignature: string };
  /** The simulators' admin URL (request counters). */
  admin: string;
  payouts: number;
  progress: (line: string) => void;
}

const GIVE_UP_MS = 300_000;

/** Creates the payouts at the D24 simulator directly, 32 at a time over keep-alive connections. */
async function createAtSimulator(options: CatchUpOptions, ids: string[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: options.ca });
  const url = new URL('/v3/cashout', options.d24Url);
  const send = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        login: options.d24Keys.apiKey,
        pass: options.d24Keys.apiPassphrase,
        external_id: id,
        country: 'BR',
        currency: 'BRL',
        amount: 1,
        document_id: '84932568207',
        beneficiary_name: 'Backlog',
        bank_code: 341,
        bank_account: '123456789',
        notification_url: 'http://127.0.0.1:9/none',
      });
      const outgoing = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'bench-catch-up',
            Authorization: `Basic ${Buffer.from(`${options.d24Keys.apiKey}:${options.d24Keys.apiPassphrase}`).toString('base64')}`,
            'Payload-Signature': createHmac('sha256', options.d24Keys.apiSignature).update(body).digest('hex'),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            response.statusCode === 200
              ? resolve()
              : reject(
                  new Error(`D24 simulator answered ${response.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`),
                ),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < ids.length) await send(ids[next++]);
    }),
  );
  agent.destroy();
}

async function d24Requests(admin: string): Promise<number> {
  const counters = (await (await fetch(`${admin}/counters`)).json()) as Record<string, { requests: number }>;
  return counters.d24.requests;
}

/** One backlog of `options.payouts`, drained by whatever replicas are running. */
export async function measureCatchUp(options: CatchUpOptions, replicas: number): Promise<CatchUpRun> {
  const ids = Array.from({ length: options.payouts }, () => randomUUID());
  const tag = `catch-up-${replicas}-${Date.now()}`;
  options.progress(`  creating ${ids.length} payouts at the simulator …\n`);
  await createAtSimulator(options, ids);
  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const before = await d24Requests(options.admin);
    await client.query(
      `INSERT INTO payouts (id, provider, environment, status, amount, currency, beneficiary, beneficiary_master_key_id,
         beneficiary_wrapped_key, beneficiary_ciphertext, beneficiary_fingerprint, reference, metadata, next_check_at, check_attempts)
       SELECT id, 'd24', 'simulator', 'pending', 1, 'BRL',
         '{"type":"latam_bank_account","country":"BR","name":"Backlog","bankAccount":"…6789"}'::jsonb,
         'bench', '\\x00'::bytea, '\\x00'::bytea, repeat('0', 64), $2, '{}'::jsonb, now() - interval '1 minute', 0
       FROM unnest($1::uuid[]) AS id`,
      [ids, tag],
    );
    options.progress(`  draining with ${replicas} replica${replicas > 1 ? 's' : ''} …\n`);
    const done = async () =>
      (
        await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM payouts WHERE reference = $1 AND status = 'completed' AND next_check_at IS NULL`,
          [tag],
        )
      ).rows[0].n;
    const deadline = Date.now() + GIVE_UP_MS;
    let started: { at: number; done: number } | undefined;
    let finished = 0;
    for (;;) {
      finished = await done();
      if (!started && finished > 0) started = { at: performance.now(), done: finished };
      if (finished === ids.length || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = started ? (performance.now() - started.at) / 1000 : 0;
    const drained = started ? finished - started.done : 0;
    return {
      replicas,
      payouts: ids.length,
      drainSeconds: Math.round(seconds * 10) / 10,
      payoutsPerSecond: Math.round(drained / Math.max(seconds, 0.001)),
      extraChecks: (await d24Requests(options.admin)) - before - finished,
      left: ids.length - finished,
    };
  } finally {
    await client.end();
  }
}
