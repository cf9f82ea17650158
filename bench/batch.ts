/**
 * The batch scenario of `npm run bench` (--batch-rows N, 0 skips it): a CSV of N D24 rows uploaded
 * through POST /v1/payout-batches/upload, timed from the upload until the batch is completed
 * (every payout in a final state), with the API's resident memory sampled meanwhile. Then the
 * provider's ledger is checked (every row there exactly once), and the same file is uploaded
 * again with the same key (it must send nothing).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface BatchRun {
  rows: number;
  concurrencyPerProvider: number;
  uploadSeconds: number;
  /** From the start of the upload until the batch was completed. */
  completeSeconds: number;
  rowsPerSecond: number;
  /** The API's largest resident set while the batch ran (sampled every 100 ms). */
  apiPeakRssMb: number;
  apiCpuMsPerRow: number;
  /**
   * CPU time per row of the processes that share the machine with the API over the same span:
   * the simulator, and PostgreSQL when the bench runs its embedded one (all its processes).
   */
  companionCpuMsPerRow: { simulator: number; postgres?: number };
  counts: Record<string, number>;
  /** Rows whose payout the provider has exactly once; the rest are `missing` or `duplicated`. */
  inLedgerOnce: number;
  missing: number;
  duplicated: number;
  /** The same file and key again: answered with the same batch and nothing new sent. */
  reuploadReplayed: boolean;
  reuploadSentNothing: boolean;
}

export interface BatchOptions {
  apiUrl: string;
  apiPid: number;
  auth: Record<string, string>;
  simulatorAdminUrl: string;
  rows: number;
  concurrencyPerProvider: number;
  cpuMs: (pid: number) => number;
  /** CPU time so far of the simulator and of PostgreSQL (when known), in ms. */
  companionsCpuMs: () => { simulator: number; postgres?: number };
  progress: (line: string) => void;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

function csvOf(rows: number): string {
  const header =
    'rowKey,provider,environment,amount,currency,reference,beneficiary.type,beneficiary.country,beneficiary.name,beneficiary.documentId,beneficiary.bankCode,beneficiary.bankAccount,beneficiary.bankBranch,beneficiary.accountType';
  const lines = Array.from(
    { length: rows },
    (_, i) =>
      `r${i},d24,simulator,1.00,BRL,bench-batch-${i},latam_bank_account,BR,Bench,84932568207,1,123456789,0001,C`,
  );
  return [header, ...lines].join('\r\n') + '\r\n';
}

async function ledgerIds(adminUrl: string): Promise<string[]> {
  const entries = (await (await fetch(`${adminUrl}/d24/ledger`)).json()) as Array<{ externalId: string }>;
  return entries.map((entry) => entry.externalId);
}

export async function measureBatch(options: BatchOptions): Promise<BatchRun> {
  const { apiUrl, auth, rows } = options;
  const csv = csvOf(rows);
  const key = randomUUID();
  const upload = () => {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'bench.csv');
    return fetch(`${apiUrl}/v1/payout-batches/upload`, {
      method: 'POST',
      headers: { ...auth, 'Idempotency-Key': key },
      body: form,
    });
  };
  let peak = rssMb(options.apiPid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(options.apiPid))), 100);
  const cpuBefore = options.cpuMs(options.apiPid);
  const companionsBefore = options.companionsCpuMs();
  const started = Date.now();
  try {
    const answer = await upload();
    if (answer.status !== 201) throw new Error(`batch upload answered ${answer.status}: ${await answer.text()}`);
    const uploadSeconds = (Date.now() - started) / 1000;
    options.progress(
      `  batch: uploaded in ${uploadSeconds} s, API RSS ${rssMb(options.apiPid)} MB (peak so far ${peak} MB)\n`,
    );
    const { id } = (await answer.json()) as { id: string };
    let batch: { status: string; counts: Record<string, number>; progress: { done: number } };
    let lastReport = 0;
    for (;;) {
      batch = (await (await fetch(`${apiUrl}/v1/payout-batches/${id}`, { headers: auth })).json()) as typeof batch;
      if (batch.status !== 'processing') break;
      if (Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        options.progress(
          `  batch: ${batch.progress.done}/${rows} rows final after ${Math.round((Date.now() - started) / 1000)} s\n`,
        );
      }
      if (Date.now() - started > 600_000) throw new Error('the batch did not complete within 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const completeSeconds = (Date.now() - started) / 1000;
    const apiCpuMs = options.cpuMs(options.apiPid) - cpuBefore;
    const companionsAfter = options.companionsCpuMs();
    const perRow = (ms: number) => Math.round((ms / rows) * 100) / 100;
    clearInterval(sampler);

    // Every row's payout id, from the batch's own items.
    const payoutIds: string[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = (await (
        await fetch(`${apiUrl}/v1/payout-batches/${id}/items?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
          headers: auth,
        })
      ).json()) as { items: Array<{ payoutId: string | null }>; nextCursor: string | null };
      payoutIds.push(...page.items.flatMap((item) => (item.payoutId ? [item.payoutId] : [])));
      cursor = page.nextCursor;
    }
    const ledger = await ledgerIds(options.simulatorAdminUrl);
    const times = new Map<string, number>();
    for (const externalId of ledger) times.set(externalId, (times.get(externalId) ?? 0) + 1);
    const inLedgerOnce = payoutIds.filter((payoutId) => times.get(payoutId) === 1).length;
    const duplicated = payoutIds.filter((payoutId) => (times.get(payoutId) ?? 0) > 1).length;

    const again = await upload();
    const replayed = again.status === 201 && again.headers.get('idempotent-replayed') === 'true';
    await again.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const ledgerAfter = await ledgerIds(options.simulatorAdminUrl);

    return {
      rows,
      concurrencyPerProvider: options.concurrencyPerProvider,
      uploadSeconds: Math.round(uploadSeconds * 10) / 10,
      completeSeconds: Math.round(completeSeconds * 10) / 10,
      rowsPerSecond: Math.round(rows / completeSeconds),
      apiPeakRssMb: peak,
      apiCpuMsPerRow: perRow(apiCpuMs),
      companionCpuMsPerRow: {
        simulator: perRow(companionsAfter.simulator - companionsBefore.simulator),
        ...(companionsAfter.postgres !== undefined && companionsBefore.postgres !== undefined
          ? { postgres: perRow(companionsAfter.postgres - companionsBefore.postgres) }
          : {}),
      },
      counts: batch.counts,
      inLedgerOnce,
      missing: rows - inLedgerOnce - duplicated,
      duplicated,
      reuploadReplayed: replayed,
      reuploadSentNothing: ledgerAfter.length === ledger.length,
    };
  } finally {
    clearInterval(sampler);
  }
}
