import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { Metrics } from '../../src/observability/metrics';
import { BatchRunner } from '../../src/batches/batch-runner';
import { rowPayoutKey } from '../../src/batches/domain/batch';
import { BatchesRepository } from '../../src/batches/persistence/batches.repository';
import { FirstCommitRefused, PayoutsService } from '../../src/payouts/payouts.service';
import { brazilianAccount, brazilianBankAccount } from '../support/beneficiaries';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { admin as simulatorAdmin, eventually } from '../support/sim-client';
import { bearer } from '../support/test-app';

/**
 * Payout batches over the real stack: PostgreSQL, the D24 simulator over TLS, CSV uploads through
 * multipart/form-data. What matters: every row reaches the provider exactly once, whatever is
 * uploaded twice or retried, and nothing is stored for a batch that is refused.
 */

const CSV_HEADER = [
  'rowKey',
  'provider',
  'environment',
  'amount',
  'currency',
  'reference',
  'beneficiary.type',
  'beneficiary.country',
  'beneficiary.name',
  'beneficiary.documentId',
  'beneficiary.documentType',
  'beneficiary.bankCode',
  'beneficiary.bankAccount',
  'beneficiary.bankBranch',
  'beneficiary.accountType',
  'metadata.orderId',
].join(',');

function csvRow(index: number, overrides: Partial<Record<'amount' | 'documentId' | 'environment', string>> = {}) {
  return [
    `inv-${index}`,
    'd24',
    overrides.environment ?? 'simulator',
    overrides.amount ?? `${10 + index}.50`,
    'BRL',
    `invoice ${index}`,
    'latam_bank_account',
    'BR',
    'José',
    overrides.documentId ?? '84932568207',
    'CPF',
    '1',
    '0123456789',
    '0001',
    'C',
    `order-${index}`,
  ].join(',');
}

function csvOf(rows: string[]): Buffer {
  return Buffer.from([CSV_HEADER, ...rows].join('\r\n') + '\r\n', 'utf8');
}

interface BatchBody {
  id: string;
  status: string;
  itemCount: number;
  skippedCount: number;
  skipped: Array<{ row: number; field: string; code: string }>;
  counts: Record<string, number>;
  progress: { done: number; total: number; percent: number };
}

describe('payout batches', () => {
  let world: ProviderWorld;
  const http = () => world.t.http;
  const admin = () => bearer(world.t.adminKey);

  beforeAll(async () => {
    world = await startProviderWorld(
      {
        EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8',
        BATCH_CONCURRENCY: '4',
        // The world's 800 ms answer deadline is for the tests of slow providers. Here a create
        // that a loaded CI machine answers late would leave its row to the reconciler and end it
        // failed, which is right for the product but not what these tests are about.
        PROVIDER_RESPONSE_TIMEOUT_MS: '10000',
      },
      61,
    );
  });
  afterAll(() => world.close());

  const upload = (csv: Buffer, key: string | null, fields: Record<string, string> = {}) => {
    let request = http().post('/v1/payout-batches/upload').set(admin());
    if (key) request = request.set('Idempotency-Key', key);
    for (const [name, value] of Object.entries(fields)) request = request.field(name, value);
    return request.attach('file', csv, 'payroll.csv');
  };
  /**
   * A CSV upload that sends its headers and half its file, then waits: resolves with the request
   * (for the test to destroy) once that half is written. Errors (the server cutting it) are ignored.
   */
  const halfSentUpload = (rowCount: number): Promise<ClientRequest> => {
    const boundary = 'half-sent-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.csv"\r\nContent-Type: text/csv\r\n\r\n`,
    );
    const rows = csvOf(Array.from({ length: rowCount }, (_, index) => csvRow(index + 1)));
    const { hostname, port } = new URL(world.baseUrl);
    return new Promise<ClientRequest>((resolve) => {
      const request = httpRequest({
        host: hostname,
        port,
        method: 'POST',
        path: '/v1/payout-batches/upload',
        headers: {
          ...admin(),
          'Idempotency-Key': randomUUID(),
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(head.length + rows.length * 2),
        },
      });
      request.on('error', () => undefined);
      request.write(head);
      request.write(rows.subarray(0, rows.length / 2), () => resolve(request));
    });
  };
  const intakeInProgress = async () => (await world.t.app.get(Metrics).batchIntakeInProgress.get()).values[0]?.value;
  const batchOf = async (id: string): Promise<BatchBody> =>
    (await http().get(`/v1/payout-batches/${id}`).set(admin())).body as BatchBody;
  const finished = (id: string) =>
    eventually(
      async () => {
        world.t.app.get(BatchRunner).wake();
        return batchOf(id);
      },
      (batch) => batch.status !== 'processing',
      30_000,
    );
  const ledger = async () =>
    (await simulatorAdmin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.map(
      (entry) => entry.externalId,
    );
  const storedBatches = async () =>
    Number((await world.t.dataSource.query('SELECT count(*)::int AS n FROM payout_batches'))[0].n);

  it('a dry run reports every problem of every row and stores nothing', async () => {
    const before = await storedBatches();
    const report = await upload(
      csvOf([csvRow(1), csvRow(2, { amount: '12.345' }), csvRow(3, { documentId: '11111111112' }), csvRow(4)]),
      null,
      { dryRun: 'true' },
    );
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      dryRun: true,
      rows: 4,
      validRows: 2,
      invalidRows: 2,
      totals: [{ currency: 'BRL', amount: '26.00', count: 2 }],
    });
    expect(report.body.problems).toEqual([
      { row: 2, field: 'amount', code: 'TOO_PRECISE', message: expect.any(String) },
      { row: 3, field: 'beneficiary.documentId', code: 'INVALID_DOCUMENT', message: expect.any(String) },
    ]);
    expect(await storedBatches()).toBe(before);

    const json = await http()
      .post('/v1/payout-batches')
      .set(admin())
      .send({
        dryRun: true,
        items: [
          {
            provider: 'd24',
            environment: 'simulator',
            amount: '5.00',
            currency: 'BRL',
            beneficiary: brazilianAccount(),
          },
          { provider: 'd24', environment: 'simulator', amount: 5, currency: 'BRL' },
        ],
      });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ rows: 2, validRows: 1, invalidRows: 1 });
    // A number is not an amount (floats never carry money): the row names the field, as POST /v1/payouts would.
    expect(json.body.problems).toContainEqual(expect.objectContaining({ row: 2, field: 'amount', code: 'IS_STRING' }));
    expect(json.body.problems.every((problem: { row: number }) => problem.row === 2)).toBe(true);
  });

  it('refuses a batch with an invalid row whole, naming it; nothing is stored', async () => {
    const before = await storedBatches();
    const refused = await upload(csvOf([csvRow(1), csvRow(2, { amount: '0' })]), randomUUID());
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('BATCH_ROWS_INVALID');
    expect(refused.body.error.details).toEqual({
      invalidRows: 1,
      problems: [{ row: 2, field: 'amount', code: 'NOT_POSITIVE', message: 'must be greater than zero' }],
    });
    expect(await storedBatches()).toBe(before);
    const noKey = await upload(csvOf([csvRow(1)]), null);
    expect([noKey.status, noKey.body.error.details[0].field]).toEqual([400, 'Idempotency-Key']);
  });

  it('sends every row exactly once, shows progress, results.csv and batch.completed; uploading it again sends nothing', async () => {
    const subscription = await http()
      .post('/v1/event-subscriptions')
      .set(admin())
      .send({ url: 'http://127.0.0.1:9/events', events: ['batch.completed'] });
    const rows = Array.from({ length: 30 }, (_, index) => csvRow(index + 1));
    const key = randomUUID();
    const created = await upload(csvOf(rows), key);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'processing', itemCount: 30, skippedCount: 0, source: 'csv' });
    expect(created.body.fileName).toBe('payroll.csv');

    const done = await finished(created.body.id);
    // Every final state a row reached, not only the one expected: a failure shows what the others were.
    expect(done.counts).toEqual({ completed: 30 });
    expect(done).toMatchObject({ status: 'completed', progress: { done: 30, percent: 100 } });
    const items = await http().get(`/v1/payout-batches/${created.body.id}/items?limit=100`).set(admin());
    const payoutIds = (items.body.items as Array<{ payoutId: string }>).map((item) => item.payoutId);
    expect(new Set(payoutIds).size).toBe(30);
    const sent = await ledger();
    for (const id of payoutIds) expect(sent.filter((externalId) => externalId === id)).toHaveLength(1);
    expect(items.body.items[0]).toMatchObject({
      row: 1,
      rowKey: 'inv-1',
      status: 'completed',
      amount: { amount: '11.50', currency: 'BRL' },
      beneficiary: { type: 'latam_bank_account', bankAccount: '…6789' },
    });
    const payout = await http().get(`/v1/payouts/${payoutIds[0]}`).set(admin());
    expect(payout.body).toMatchObject({ reference: 'invoice 1', metadata: { orderId: 'order-1' } });

    // The same file with the same key: the same batch, nothing new sent.
    const again = await upload(csvOf(rows), key);
    expect([again.status, again.headers['idempotent-replayed'], again.body.id]).toEqual([201, 'true', created.body.id]);
    const otherRows = await upload(csvOf(rows.slice(1)), key);
    expect([otherRows.status, otherRows.body.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    world.t.app.get(BatchRunner).wake();
    await world.t.app.get(BatchRunner).pass();
    expect((await ledger()).length).toBe(sent.length);

    const results = await http().get(`/v1/payout-batches/${created.body.id}/results.csv`).set(admin());
    expect(results.status).toBe(200);
    expect(results.headers['content-type']).toBe('text/csv; charset=utf-8');
    const records = parse(results.text, { columns: true, bom: true }) as Array<Record<string, string>>;
    expect(records).toHaveLength(30);
    expect(records[29]).toMatchObject({ row: '30', rowKey: 'inv-30', status: 'completed', amount: '40.50' });
    expect(results.text).not.toContain('0123456789');

    const announced = await world.t.dataSource.query<Array<{ payload: { data: Record<string, unknown> } }>>(
      `SELECT payload FROM outbound_events WHERE subscription_id = $1 AND type = 'batch.completed'`,
      [subscription.body.id],
    );
    expect(announced.map((row) => row.payload.data)).toContainEqual(
      expect.objectContaining({ batchId: created.body.id, status: 'completed', counts: { completed: 30 } }),
    );
  });

  it('a holdOnCreate column creates its rows held at the provider; a cell that is not true or false is refused', async () => {
    const header = `${CSV_HEADER},holdOnCreate`;
    const csv = (cell: string) => Buffer.from(`${header}\r\n${csvRow(901)},${cell}\r\n`, 'utf8');
    const refused = await upload(csv('yes'), null, { dryRun: 'true' });
    expect([refused.status, refused.body.problems]).toEqual([
      200,
      [expect.objectContaining({ row: 1, field: 'holdOnCreate' })],
    ]);
    const created = await upload(csv('true'), randomUUID());
    expect(created.status).toBe(201);
    const item = await eventually(
      async () => {
        world.t.app.get(BatchRunner).wake();
        const items = await http().get(`/v1/payout-batches/${created.body.id}/items`).set(admin());
        return items.body.items[0] as { payoutId?: string; status: string };
      },
      // The row shows its payout from the payout's first commit on (status requested), so wait for the provider's answer.
      (first) => typeof first?.payoutId === 'string' && first.status !== 'requested',
      30_000,
    );
    const payout = await http().get(`/v1/payouts/${item.payoutId}`).set(admin());
    expect(payout.body).toMatchObject({ status: 'on_hold', providerStatus: 'ON_HOLD' });
    const held = (
      await simulatorAdmin<Array<{ externalId: string; status: string }>>(world.sims, 'GET', '/d24/ledger')
    ).body.filter((entry) => entry.externalId === item.payoutId);
    expect(held).toEqual([expect.objectContaining({ status: 'ON_HOLD' })]);
    await http().post(`/v1/payout-batches/${created.body.id}/cancel`).set(admin());
  });

  it('skips invalid rows when asked, listing them', async () => {
    const created = await upload(csvOf([csvRow(1), csvRow(2, { amount: 'ten' }), csvRow(3)]), randomUUID(), {
      skipInvalid: 'true',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ itemCount: 2, skippedCount: 1 });
    expect(created.body.skipped).toEqual([expect.objectContaining({ row: 2, field: 'amount' })]);
    const done = await finished(created.body.id);
    expect(done.counts).toEqual({ completed: 2 });
  });

  it('counts every skipped row, beyond the problems it lists', async () => {
    const invalid = Array.from({ length: 1_100 }, (_, index) => csvRow(index + 2, { amount: 'ten' }));
    const created = await upload(csvOf([csvRow(1), ...invalid]), randomUUID(), { skipInvalid: 'true' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ itemCount: 1, skippedCount: 1_100 });
    expect(created.body.skipped.length).toBeLessThan(1_100);
    await http().post(`/v1/payout-batches/${created.body.id}/cancel`).set(admin());
  });

  it('reads a file whose lines end differently (CRLF header, LF rows), and refuses parts it would drop', async () => {
    const mixed = Buffer.from(`${CSV_HEADER}\r\n${csvRow(1)}\n${csvRow(2)}\n`, 'utf8');
    const report = await upload(mixed, null, { dryRun: 'true' });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ rows: 2, validRows: 2, invalidRows: 0 });

    // A header of thousands of columns (each row an object that wide) is refused at the header.
    const wideHeader = [CSV_HEADER, ...Array.from({ length: 4_000 }, (_, index) => `metadata.k${index}`)].join(',');
    const wide = await upload(Buffer.from(`${wideHeader}\r\n`, 'utf8'), null, { dryRun: 'true' });
    expect(wide.status).toBe(400);
    expect(wide.body.error).toMatchObject({
      code: 'BATCH_FILE_UNREADABLE',
      details: [expect.objectContaining({ field: '(header)', code: 'TOO_MANY_COLUMNS' })],
    });

    // A second file (past the one-file limit) was dropped without a word: now the upload is refused.
    const twoFiles = await http()
      .post('/v1/payout-batches/upload')
      .set(admin())
      .set('Idempotency-Key', randomUUID())
      .attach('file', csvOf([csvRow(1)]), 'a.csv')
      .attach('file', csvOf([csvRow(2)]), 'b.csv');
    expect(twoFiles.status).toBe(400);
    expect(twoFiles.body.error.details).toEqual([expect.objectContaining({ field: 'file', code: 'TOO_MANY_PARTS' })]);
  });

  it('a row retried after its sender died is answered by its first attempt, not paid twice', async () => {
    const key = randomUUID();
    const created = await http()
      .post('/v1/payout-batches')
      .set(admin())
      .set('Idempotency-Key', key)
      .send({
        items: [
          {
            rowKey: 'only',
            provider: 'd24',
            environment: 'simulator',
            amount: '7.00',
            currency: 'BRL',
            beneficiary: brazilianAccount(),
          },
        ],
      });
    expect(created.status).toBe(201);
    const done = await finished(created.body.id);
    expect(done.counts).toEqual({ completed: 1 });
    const [item] = (await http().get(`/v1/payout-batches/${created.body.id}/items`).set(admin())).body.items as Array<{
      payoutId: string;
    }>;
    // As if the sender died after its payout was created but before the row recorded it: the row
    // is "sending" with a lapsed lease, and the runner claims it again.
    await world.t.dataSource.query(
      `UPDATE payout_batch_items SET status = 'sending', payout_id = NULL, due_at = now() - interval '1 second' WHERE batch_id = $1`,
      [created.body.id],
    );
    await world.t.dataSource.query(`UPDATE payout_batches SET status = 'processing' WHERE id = $1`, [created.body.id]);
    await finished(created.body.id);
    const [again] = (await http().get(`/v1/payout-batches/${created.body.id}/items`).set(admin())).body.items as Array<{
      payoutId: string;
      attempts: number;
    }>;
    expect(again).toMatchObject({ payoutId: item.payoutId, attempts: 2 });
    expect((await ledger()).filter((externalId) => externalId === item.payoutId)).toHaveLength(1);
  });

  it('holds rows a provider environment cannot take yet, and cancel stops them; they are never sent', async () => {
    // D24 stg has no host configured here: each row is refused "not now" and waits.
    const created = await upload(
      csvOf([csvRow(1, { environment: 'stg' }), csvRow(2, { environment: 'stg' })]),
      randomUUID(),
    );
    expect(created.status).toBe(201);
    const waiting = await eventually(
      async () => {
        await world.t.app.get(BatchRunner).pass();
        return (await http().get(`/v1/payout-batches/${created.body.id}/items?status=queued`).set(admin())).body
          .items as Array<{ error: { code: string } | null }>;
      },
      (items) => items.length === 2 && items.every((item) => item.error !== null),
    );
    expect(['PROVIDER_NOT_CONFIGURED', 'CREDENTIAL_MISSING']).toContain(waiting[0].error?.code);

    const cancelled = await http().post(`/v1/payout-batches/${created.body.id}/cancel`).set(admin());
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ cancelledRows: 2, counts: { cancelled: 2 } });
    const done = await finished(created.body.id);
    expect(done.status).toBe('cancelled');
    const late = await http().post(`/v1/payout-batches/${created.body.id}/cancel`).set(admin());
    expect([late.status, late.body.error.code]).toEqual([409, 'BATCH_FINISHED']);
  });

  it("a running batch's counts are read at most once a second, however often it is polled; a finished one's are exact", async () => {
    // D24 stg has no host configured here: the rows wait and the batch keeps running.
    const created = await upload(
      csvOf([csvRow(1, { environment: 'stg' }), csvRow(2, { environment: 'stg' })]),
      randomUUID(),
    );
    const id = created.body.id as string;
    const first = await batchOf(id);
    const readAt = Date.now();
    expect(first.status).toBe('processing');
    await world.t.dataSource.query(`UPDATE payout_batch_items SET status = 'cancelled' WHERE batch_id = $1`, [id]);
    const polled = await batchOf(id);
    // Within the second, the poll is answered from the same read (only checked when it did come within it).
    if (Date.now() - readAt < 900) expect(polled.counts).toEqual(first.counts);
    const caughtUp = await eventually(
      () => batchOf(id),
      (batch) => batch.counts.cancelled === 2,
      5_000,
    );
    expect(caughtUp.counts).toEqual({ cancelled: 2 });
    // Every row is final: the batch finishes, and from then on is counted afresh on every read.
    expect((await finished(id)).counts).toEqual({ cancelled: 2 });
    await world.t.dataSource.query(`UPDATE payout_batch_items SET status = 'refused' WHERE batch_id = $1 AND row = 1`, [
      id,
    ]);
    expect((await batchOf(id)).counts).toEqual({ cancelled: 1, refused: 1 });
  });

  it('a row being sent when its batch is cancelled is never queued again, and is settled without being sent', async () => {
    const created = await upload(
      csvOf([csvRow(1, { environment: 'stg' }), csvRow(2, { environment: 'stg' })]),
      randomUUID(),
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // Both rows in flight with this process (a live sender) and a long lease: the runner leaves them alone.
    await world.t.dataSource.query(
      `UPDATE payout_batch_items SET status = 'sending', attempts = 5, due_at = now() + interval '1 hour',
         owner_instance = NULL WHERE batch_id = $1`,
      [id],
    );
    const cancelled = await http().post(`/v1/payout-batches/${id}/cancel`).set(admin());
    expect(cancelled.body).toMatchObject({ cancelledRows: 0, counts: { sending: 2 } });
    const again = await http().post(`/v1/payout-batches/${id}/cancel`).set(admin());
    expect(again.body).toMatchObject({ cancelledRows: 0 });
    const audited = await http().get('/v1/audit').query({ action: 'payout_batch.cancelled', limit: 100 }).set(admin());
    expect(audited.body.items.filter((entry: { subjectId: string }) => entry.subjectId === id)).toEqual([
      expect.objectContaining({ detail: { previousStatus: 'processing', cancelledRows: 0 } }),
    ]);

    // The senders' "not now" outcomes arrive after the cancel: neither row is queued again.
    const repository = world.t.app.get(BatchesRepository);
    const error = { code: 'CREDENTIAL_MISSING', message: 'not now' };
    expect(await repository.requeue({ batchId: id, row: 1, attempts: 5 }, error, new Date())).toBe('batch_cancelled');
    // A stale attempt (its row claimed again since) changes nothing, whatever it learnt.
    await repository.markRefused({ batchId: id, row: 2, attempts: 4 }, 'LIMIT_EXCEEDED', 'stale');
    const rows = await world.t.dataSource.query(
      `SELECT row, status, error_code FROM payout_batch_items WHERE batch_id = $1 ORDER BY row`,
      [id],
    );
    expect(rows).toEqual([
      { row: 1, status: 'sending', error_code: null },
      { row: 2, status: 'sending', error_code: null },
    ]);

    // Their senders die: the rows are claimed again, settled as cancelled (no payout exists), and never sent.
    await world.t.dataSource.query(`UPDATE payout_batch_items SET due_at = now() WHERE batch_id = $1`, [id]);
    const done = await finished(id);
    expect(done).toMatchObject({ status: 'cancelled', counts: { cancelled: 2 } });
  });

  it("a row's payout marks it submitted in the payout's own first commit, and a row claimed before a cancel stores nothing", async () => {
    const repository = world.t.app.get(BatchesRepository);
    const payouts = world.t.app.get(PayoutsService);
    // Two batches whose only row a sender holds (claimed, a long lease): the runner leaves them alone.
    // Its second claim (attempts 2): the runner may have claimed the row once between the upload
    // and this takeover (attempts 1), and what that attempt settles late is guarded by its count.
    const claimedBatch = async () => {
      const created = await upload(csvOf([csvRow(1, { environment: 'stg' })]), randomUUID());
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const [{ api_key_id: apiKeyId }] = await world.t.dataSource.query(
        `SELECT api_key_id FROM payout_batches WHERE id = $1`,
        [id],
      );
      await world.t.dataSource.query(
        `UPDATE payout_batch_items SET status = 'sending', attempts = 2, due_at = now() + interval '1 hour',
           owner_instance = NULL WHERE batch_id = $1`,
        [id],
      );
      return { id, idempotency: { apiKeyId: apiKeyId as string, key: rowPayoutKey(id, 'inv-1') } };
    };
    const payout = (reference: string) => ({
      provider: 'd24' as const,
      environment: 'simulator' as const,
      amount: { amount: '3.00', currency: 'BRL' },
      beneficiary: brazilianBankAccount(),
      reference,
    });
    const rowOf = async (id: string) =>
      (
        await world.t.dataSource.query(`SELECT status, payout_id FROM payout_batch_items WHERE batch_id = $1`, [id])
      )[0] as { status: string; payout_id: string | null };

    const open = await claimedBatch();
    const created = await payouts.create(payout('linked row'), open.idempotency, {
      link: repository.submittedWithPayout({ batchId: open.id, row: 1, attempts: 2 }),
    });
    if (created.outcome !== 'created') throw new Error(`expected a new payout, got ${created.outcome}`);
    expect(await rowOf(open.id)).toEqual({ status: 'submitted', payout_id: created.payout.id });

    const cancelled = await claimedBatch();
    expect((await http().post(`/v1/payout-batches/${cancelled.id}/cancel`).set(admin())).status).toBe(200);
    const ledgerBefore = await ledger();
    await expect(
      payouts.create(payout('row of a cancelled batch'), cancelled.idempotency, {
        link: repository.submittedWithPayout({ batchId: cancelled.id, row: 1, attempts: 2 }),
      }),
    ).rejects.toBeInstanceOf(FirstCommitRefused);
    // Nothing stored: no payout, the key still free, the row left to its sender to settle; nothing sent.
    expect(await payouts.payoutIdForKey(cancelled.idempotency)).toBeNull();
    expect(
      await world.t.dataSource.query(`SELECT 1 FROM payouts WHERE reference = 'row of a cancelled batch'`),
    ).toEqual([]);
    expect(await rowOf(cancelled.id)).toEqual({ status: 'sending', payout_id: null });
    expect(await ledger()).toEqual(ledgerBefore);
    await http().post(`/v1/payout-batches/${open.id}/cancel`).set(admin());
  });

  it('a row of a cancelled batch, or a refused retry, whose earlier attempt paid shows that payout', async () => {
    const created = await http()
      .post('/v1/payout-batches')
      .set(admin())
      .set('Idempotency-Key', randomUUID())
      .send({
        items: [
          {
            rowKey: 'paid-then-cancelled',
            provider: 'd24',
            environment: 'simulator',
            amount: '8.00',
            currency: 'BRL',
            beneficiary: brazilianAccount(),
          },
          {
            rowKey: 'paid-then-refused',
            provider: 'd24',
            environment: 'simulator',
            amount: '9.00',
            currency: 'BRL',
            beneficiary: brazilianAccount(),
          },
        ],
      });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await finished(id)).counts).toEqual({ completed: 2 });
    const paid = (await http().get(`/v1/payout-batches/${id}/items`).set(admin())).body.items as Array<{
      payoutId: string;
    }>;
    // As if both senders died after paying, before recording it; then the batch is cancelled, and
    // the second row's key no longer matches its request (a retry is refused IDEMPOTENCY_KEY_REUSED).
    await world.t.dataSource.query(
      `UPDATE payout_batch_items SET status = 'sending', payout_id = NULL, due_at = now() + interval '1 hour' WHERE batch_id = $1`,
      [id],
    );
    await world.t.dataSource.query(
      `UPDATE payout_batches SET status = 'processing', completed_at = NULL WHERE id = $1`,
      [id],
    );
    await world.t.dataSource.query(
      `UPDATE idempotency_keys SET request_hash = repeat('0', 64) WHERE idempotency_key = $1`,
      [`batch:${id}:paid-then-refused`],
    );
    await world.t.dataSource.query(
      `UPDATE payout_batch_items SET due_at = now() WHERE batch_id = $1 AND row_key = 'paid-then-refused'`,
      [id],
    );
    await eventually(
      async () => {
        await world.t.app.get(BatchRunner).pass();
        return world.t.dataSource.query(
          `SELECT status, payout_id FROM payout_batch_items WHERE batch_id = $1 AND row_key = 'paid-then-refused'`,
          [id],
        );
      },
      (rows: Array<{ status: string }>) => rows[0].status === 'submitted',
    );
    expect((await http().post(`/v1/payout-batches/${id}/cancel`).set(admin())).status).toBe(200);
    await world.t.dataSource.query(`UPDATE payout_batch_items SET due_at = now() WHERE batch_id = $1`, [id]);
    const done = await finished(id);
    expect(done).toMatchObject({ status: 'cancelled', counts: { completed: 2 } });
    const items = (await http().get(`/v1/payout-batches/${id}/items`).set(admin())).body.items as Array<{
      payoutId: string;
    }>;
    expect(items.map((item) => item.payoutId)).toEqual(paid.map((item) => item.payoutId));
    const sent = await ledger();
    for (const { payoutId } of paid) expect(sent.filter((externalId) => externalId === payoutId)).toHaveLength(1);
  });

  it('refuses a forged item cursor past the row range with 400, not a database error', async () => {
    const created = await upload(csvOf([csvRow(1, { environment: 'stg' })]), randomUUID());
    const cursor = Buffer.from('r:999999999999999999').toString('base64url');
    const page = await http().get(`/v1/payout-batches/${created.body.id}/items?cursor=${cursor}`).set(admin());
    expect([page.status, page.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await http().post(`/v1/payout-batches/${created.body.id}/cancel`).set(admin())).status).toBe(200);
  });

  it('reads a JSON batch over 1 MiB only for a key that may create batches', async () => {
    const item = {
      provider: 'd24',
      environment: 'simulator',
      amount: '1.00',
      currency: 'BRL',
      reference: 'x'.repeat(140),
      beneficiary: brazilianAccount(),
    };
    const body = {
      dryRun: true,
      items: Array.from({ length: 3_000 }, (_, index) => ({ ...item, rowKey: `r${index}` })),
    };
    expect(JSON.stringify(body).length).toBeGreaterThan(1024 * 1024);
    const anonymous = await http().post('/v1/payout-batches').send(body);
    expect(anonymous.status).toBe(413);
    const reader = await http()
      .post('/v1/api-keys')
      .set(admin())
      .send({ name: 'batch-reader', scopes: ['payouts:read'] });
    const readOnly = await http().post('/v1/payout-batches').set(bearer(reader.body.key)).send(body);
    expect(readOnly.status).toBe(413);
    const writer = await http().post('/v1/payout-batches').set(admin()).send(body);
    expect(writer.status).toBe(200);
    expect(writer.body).toMatchObject({ dryRun: true, rows: 3_000 });
  });

  it('a client that drops the connection mid-upload leaves nothing stored, and the server keeps serving', async () => {
    const before = await storedBatches();
    (await halfSentUpload(2_000)).destroy();
    const health = await eventually(
      () => http().get('/v1/payout-batches/template.csv').set(admin()),
      (answer) => answer.status === 200,
    );
    expect(health.status).toBe(200);
    expect(await storedBatches()).toBe(before);
  });

  it('checks at most BATCH_INTAKE_CONCURRENCY (2) batches at once: a third answers 429 BATCH_INTAKE_BUSY, and a dropped upload frees its slot', async () => {
    const before = await storedBatches();
    // Two uploads that send half their file and then wait: both hold a slot while being read.
    const held = await Promise.all([halfSentUpload(50), halfSentUpload(50)]);
    try {
      // Both held uploads are inside (reading their files) before anything else is sent.
      await eventually(intakeInProgress, (inProgress) => inProgress === 2);
      const busy = await upload(csvOf([csvRow(1)]), randomUUID(), { dryRun: 'true' });
      expect(busy.status).toBe(429);
      expect(busy.body.error).toEqual({
        code: 'BATCH_INTAKE_BUSY',
        message: expect.stringContaining('Send it again after Retry-After, with the same Idempotency-Key'),
        details: { limit: 2 },
      });
      expect(Number(busy.headers['retry-after'])).toBeGreaterThan(0);
      // The JSON route shares the slots.
      const json = await http()
        .post('/v1/payout-batches')
        .set(admin())
        .send({
          dryRun: true,
          items: [{ provider: 'd24', environment: 'simulator', amount: '1.00', currency: 'BRL' }],
        });
      expect([json.status, json.body.error?.code]).toEqual([429, 'BATCH_INTAKE_BUSY']);
      expect(await storedBatches()).toBe(before);
    } finally {
      // The clients go away: their slots are free again and batches are checked.
      for (const request of held) request.destroy();
    }
    await eventually(intakeInProgress, (inProgress) => inProgress === 0);
    const checked = await eventually(
      () => upload(csvOf([csvRow(1)]), null, { dryRun: 'true' }),
      (answer) => answer.status === 200,
    );
    expect(checked.body).toMatchObject({ rows: 1, validRows: 1 });
  });

  it('serves a template that uploads as it is, and refuses files that are not a batch CSV', async () => {
    const template = await http().get('/v1/payout-batches/template.csv').set(admin());
    expect(template.status).toBe(200);
    const checked = await upload(Buffer.from(template.text, 'utf8'), null, { dryRun: 'true' });
    // One row per provider, and one paying a stored beneficiary: every one valid as it is.
    expect(checked.body).toMatchObject({ rows: 4, validRows: 4, invalidRows: 0, problems: [] });

    const unknownColumn = await upload(Buffer.from('provider,environment,amount,currency,iban\n'), null, {
      dryRun: 'true',
    });
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.body.error.code).toBe('BATCH_FILE_UNREADABLE');
    expect(unknownColumn.body.error.details).toEqual([
      expect.objectContaining({ field: 'iban', code: 'UNKNOWN_COLUMN' }),
    ]);

    const brokenQuote = await upload(csvOf([csvRow(1), 'x,"d24,simulator']), null, { dryRun: 'true' });
    expect([brokenQuote.status, brokenQuote.body.error.code]).toEqual([400, 'BATCH_FILE_UNREADABLE']);

    const tooMany = await upload(csvOf(Array.from({ length: 10_001 }, (_, index) => csvRow(index))), null, {
      dryRun: 'true',
    });
    expect([tooMany.status, tooMany.body.error.code]).toEqual([413, 'BATCH_TOO_LARGE']);

    // Over 10 MiB, with a bad row far past the first chunk: one clean 413, the process keeps serving.
    const huge = Buffer.concat([csvOf([csvRow(1)]), Buffer.alloc(11 * 1024 * 1024, 'x')]);
    const oversize = await upload(huge, null, { dryRun: 'true' });
    expect(oversize.status).toBeGreaterThanOrEqual(400);
    expect(oversize.status).toBeLessThan(500);
    const lateBadRow = await upload(csvOf([...Array.from({ length: 3_000 }, (_, i) => csvRow(i)), 'x,"broken']), null, {
      dryRun: 'true',
    });
    expect([lateBadRow.status, lateBadRow.body.error.code]).toEqual([400, 'BATCH_FILE_UNREADABLE']);
    expect((await http().get('/v1/payout-batches/template.csv').set(admin())).status).toBe(200);

    const notMultipart = await http()
      .post('/v1/payout-batches/upload')
      .set(admin())
      .set('Content-Type', 'text/csv')
      .send(csvOf([csvRow(1)]).toString());
    expect(notMultipart.status).toBe(415);
  });

  describe('with a payout policy that asks for approval', () => {
    const keys: Record<'maker' | 'bea' | 'caio' | 'ownerless', { id: string; key: string }> = {} as never;
    const createKey = async (name: string, owner: string | undefined, scopes: string[]) => {
      const answer = await http()
        .post('/v1/api-keys')
        .set(admin())
        .send({ name, ...(owner ? { owner } : {}), scopes });
      expect(answer.status).toBe(201);
      return { id: answer.body.id as string, key: answer.body.key as string };
    };
    beforeAll(async () => {
      keys.maker = await createKey('batch-maker', 'ana@acme.example', [
        'payouts:read',
        'payouts:write',
        'payouts:approve',
      ]);
      keys.bea = await createKey('batch-bea', 'bea@acme.example', ['payouts:read', 'payouts:approve']);
      keys.caio = await createKey('batch-caio', 'caio@acme.example', ['payouts:read', 'payouts:approve']);
      keys.ownerless = await createKey('batch-ownerless', undefined, ['payouts:read', 'payouts:approve']);
      const set = await http()
        .put('/v1/payout-policies')
        .set(admin())
        .send({
          policies: [
            { currency: 'BRL', apiKeyId: keys.maker.id, approval: { atOrAbove: '500.00', requiredApprovals: 2 } },
          ],
        });
      expect(set.status).toBe(200);
    });
    afterAll(async () =>
      expect((await http().put('/v1/payout-policies').set(admin()).send({ policies: [] })).status).toBe(200),
    );

    const uploadAs = (as: { key: string }, rows: string[]) =>
      http()
        .post('/v1/payout-batches/upload')
        .set(bearer(as.key))
        .set('Idempotency-Key', randomUUID())
        .attach('file', csvOf(rows), 'approvals.csv');
    const decide = (as: { key: string }, id: string, decision: 'approve' | 'reject', comment?: string) =>
      http()
        .post(`/v1/payout-batches/${id}/${decision}`)
        .set(bearer(as.key))
        .send(comment ? { comment } : {});

    it('holds the whole batch until two other owners approve it once; its rows then go without waiting again', async () => {
      const created = await uploadAs(keys.maker, [csvRow(1), csvRow(2, { amount: '650.00' }), csvRow(3)]);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        status: 'pending_approval',
        counts: { held: 3 },
        approval: { required: 2, reasons: ['atOrAbove'], decisions: [] },
      });
      const id = created.body.id as string;
      // Held rows are never claimed.
      await world.t.app.get(BatchRunner).pass();
      expect((await batchOf(id)).counts).toEqual({ held: 3 });

      const own = await decide(keys.maker, id, 'approve');
      expect([own.status, own.body.error.code]).toEqual([403, 'APPROVER_IS_CREATOR']);
      const nobody = await decide(keys.ownerless, id, 'approve');
      expect([nobody.status, nobody.body.error.code]).toEqual([403, 'APPROVER_WITHOUT_OWNER']);

      const first = await decide(keys.bea, id, 'approve', 'payroll checked');
      expect(first.body).toMatchObject({
        status: 'pending_approval',
        approval: { decisions: [{ principal: 'bea@acme.example', comment: 'payroll checked' }] },
      });
      expect((await decide(keys.bea, id, 'approve')).body.status).toBe('pending_approval'); // the same owner again: nothing more
      const second = await decide(keys.caio, id, 'approve');
      expect(second.body.status).toBe('processing');

      const done = await finished(id);
      expect(done).toMatchObject({ status: 'completed', counts: { completed: 3 } });
      const items = (await http().get(`/v1/payout-batches/${id}/items`).set(admin())).body.items as Array<{
        payoutId: string;
      }>;
      const sent = await ledger();
      expect(items.every((item) => sent.includes(item.payoutId))).toBe(true);
      // The 650.00 row did not wait again: its history names the batch's approvers.
      const history = (await http().get(`/v1/payouts/${items[1].payoutId}/events`).set(admin())).body as Array<{
        type: string;
        toStatus: string;
        detail: Record<string, unknown>;
      }>;
      expect(history[0]).toMatchObject({
        type: 'created',
        toStatus: 'requested',
        detail: { approvedInBatch: { batchId: id, approvers: ['bea@acme.example', 'caio@acme.example'] } },
      });
      const late = await decide(keys.bea, id, 'reject');
      expect([late.status, late.body.error.code]).toEqual([409, 'BATCH_NOT_PENDING_APPROVAL']);
      const audited = await http().get(`/v1/audit?subjectId=${id}`).set(admin());
      expect(audited.body.items.map((entry: { action: string }) => entry.action)).toEqual([
        'payout_batch.approved',
        'payout_batch.approved',
      ]);
    });

    it('a batch under every threshold is not held', async () => {
      const created = await uploadAs(keys.maker, [csvRow(1)]);
      expect(created.body).toMatchObject({ status: 'processing', approval: null });
    });

    it('a rejected or expired batch is cancelled, and none of its rows ever reaches the provider', async () => {
      const rejected = await uploadAs(keys.maker, [csvRow(1, { amount: '900.00' }), csvRow(2)]);
      const refusal = await decide(keys.bea, rejected.body.id, 'reject', 'not this month');
      expect(refusal.body).toMatchObject({ status: 'cancelled', counts: { cancelled: 2 } });
      expect((await decide(keys.caio, rejected.body.id, 'approve')).status).toBe(409);

      const expiring = await uploadAs(keys.maker, [csvRow(1, { amount: '900.00' })]);
      await world.t.dataSource.query(
        `UPDATE payout_batches SET approval_expires_at = now() - interval '1 second' WHERE id = $1`,
        [expiring.body.id],
      );
      const late = await decide(keys.bea, expiring.body.id, 'approve');
      expect([late.status, late.body.error.code]).toEqual([409, 'APPROVAL_EXPIRED']);
      expect((await batchOf(expiring.body.id)).status).toBe('cancelled');

      const swept = await uploadAs(keys.maker, [csvRow(1, { amount: '900.00' })]);
      await world.t.dataSource.query(
        `UPDATE payout_batches SET approval_expires_at = now() - interval '1 second' WHERE id = $1`,
        [swept.body.id],
      );
      await eventually(
        async () => {
          world.t.app.get(BatchRunner).wake();
          return (await batchOf(swept.body.id)).status;
        },
        (status) => status === 'cancelled',
      );
      const [{ n }] = await world.t.dataSource.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM payout_batch_items WHERE batch_id = ANY($1::uuid[]) AND payout_id IS NOT NULL`,
        [[rejected.body.id, expiring.body.id, swept.body.id]],
      );
      expect(n).toBe(0);
      await expect(world.t.dataSource.query(`DELETE FROM payout_batch_approvals`)).rejects.toThrow(/append-only/);
    });

    it('cancel stops a batch still waiting for approval at once', async () => {
      const waiting = await uploadAs(keys.maker, [csvRow(1, { amount: '900.00' })]);
      const cancelled = await http().post(`/v1/payout-batches/${waiting.body.id}/cancel`).set(admin());
      expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelledRows: 1, counts: { cancelled: 1 } });
    });
  });
});
