import type { DataSource } from 'typeorm';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { admin } from './sim-client';

const D24_FINAL: Record<string, string> = {
  COMPLETED: 'completed',
  REJECTED: 'rejected',
  CANCELLED: 'cancelled',
  DELIVERED: 'processing',
  PENDING: 'pending',
  ON_HOLD: 'on_hold',
};

/** Waits until no payout with this reference prefix is still open. */
export async function settle(dataSource: DataSource, referencePrefix: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ open }] = await dataSource.query(
      `SELECT count(*)::int AS open FROM payouts WHERE reference LIKE $1 AND status NOT IN ('completed', 'failed', 'rejected', 'cancelled')`,
      [`${referencePrefix}%`],
    );
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} payouts still open after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Nothing lost, nothing paid twice: every cashout the simulator accepted belongs to exactly one
 * payout, in the same final state; every payout the simulator never saw has failed.
 */
export async function checkD24Ledger(
  dataSource: DataSource,
  sims: RunningSimulators,
  referencePrefix: string,
): Promise<{ payouts: number; accepted: number; failed: number }> {
  const payouts: Array<{ id: string; status: string }> = await dataSource.query(
    `SELECT id, status FROM payouts WHERE reference LIKE $1`,
    [`${referencePrefix}%`],
  );
  const ids = new Set(payouts.map((p) => p.id));
  const ledger = (await admin<Array<{ externalId: string; status: string }>>(sims, 'GET', '/d24/ledger')).body.filter(
    (e) => ids.has(e.externalId),
  );
  const seen = new Map<string, number>();
  for (const entry of ledger) seen.set(entry.externalId, (seen.get(entry.externalId) ?? 0) + 1);
  const doubled = [...seen].filter(([, count]) => count > 1);
  if (doubled.length > 0) throw new Error(`paid twice: ${doubled.map(([id]) => id).join(', ')}`);
  const byId = new Map(payouts.map((p) => [p.id, p.status]));
  const mismatched = ledger.filter((entry) => byId.get(entry.externalId) !== D24_FINAL[entry.status]);
  if (mismatched.length > 0)
    throw new Error(
      `state differs: ${JSON.stringify(mismatched.slice(0, 5).map((e) => [e.externalId, e.status, byId.get(e.externalId)]))}`,
    );
  const unseen = payouts.filter((p) => !seen.has(p.id));
  const notFailed = unseen.filter((p) => p.status !== 'failed');
  if (notFailed.length > 0)
    throw new Error(`never reached the provider but not failed: ${JSON.stringify(notFailed.slice(0, 5))}`);
  return { payouts: payouts.length, accepted: ledger.length, failed: unseen.length };
}

/** Runs tasks with a concurrency limit. */
export async function pool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index).then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        );
      }
    }),
  );
  return results;
}
