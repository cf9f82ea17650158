import { rewrap, unlessUnopenable } from '../credentials/crypto/envelope';
import type { MasterKeyring } from '../credentials/crypto/master-keyring';
import { batchRowContext } from './domain/batch';
import type { BatchesRepository } from './persistence/batches.repository';

/** How many batch rows one read of the re-wrap takes. */
const REWRAP_BATCH = 500;

/**
 * Re-wraps every batch row's sealed payout under the keyring's current master key: part of `npm
 * run credentials:rotate-master-key`. Without it, a row still queued (or waiting for its batch's
 * approval) when CREDENTIALS_MASTER_KEY_PREVIOUS is removed could never be opened, so never
 * sent. Rows already sent too: every data key ends under the current key. A row is written only
 * while it still holds the wrapped key read; safe to run twice and beside running replicas.
 * A row no key of the keyring opens is skipped and named in `unopenable`; the rest are still
 * re-wrapped. Answers how many rows it re-wrapped.
 */
export async function rewrapBatchRows(
  repository: BatchesRepository,
  keyring: MasterKeyring,
  unopenable: string[] = [],
): Promise<number> {
  const current = keyring.current.id;
  let count = 0;
  let after = { batchId: '00000000-0000-0000-0000-000000000000', row: 0 };
  for (;;) {
    const rows = await repository.rowsSealedUnderOtherKey(current, after, REWRAP_BATCH);
    if (rows.length === 0) return count;
    for (const row of rows) {
      const to = unlessUnopenable(() => rewrap(keyring, batchRowContext(row.batchId, row.row), row.sealed));
      if (!to) {
        unopenable.push(`batch ${row.batchId} row ${row.row}`);
        continue;
      }
      if (await repository.storeRewrappedRow(row.batchId, row.row, { from: row.sealed, to })) count += 1;
    }
    const last = rows[rows.length - 1];
    after = { batchId: last.batchId, row: last.row };
  }
}
