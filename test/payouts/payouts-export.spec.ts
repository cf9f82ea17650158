import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import { EXPORT_COLUMNS } from '../../src/payouts/payouts-export';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { brazilianAccount } from '../support/beneficiaries';
import { bearer } from '../support/test-app';

const account = brazilianAccount({ bankAccount: '998877665' });

/** GET /v1/payouts/export.csv over the real stack: filters, masking, formula escaping, many pages, a client that leaves. */
describe('payouts export (GET /v1/payouts/export.csv)', () => {
  let world: ProviderWorld;
  const http = () => world.t.http;
  const admin = () => bearer(world.t.adminKey);
  const exportCsv = (query: Record<string, string> = {}) =>
    http()
      .get('/v1/payouts/export.csv')
      .query(query)
      .set(admin())
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
      });
  const rowsOf = (text: string): Array<Record<string, string>> =>
    parse(text, { columns: true, bom: true, skip_empty_lines: true }) as Array<Record<string, string>>;

  beforeAll(async () => {
    world = await startProviderWorld({}, 43);
  });
  afterAll(() => world.close());

  it('answers every matching payout as CSV, masked, with formulas defused and exact decimal amounts', async () => {
    const references = ['=HYPERLINK("http://evil.example","x")', 'inv, "quoted"\nsecond line', '+cmd', 'plain-ref'];
    for (const [index, reference] of references.entries()) {
      const created = await http()
        .post('/v1/payouts')
        .set(admin())
        .set('Idempotency-Key', randomUUID())
        .send({
          provider: 'd24',
          environment: 'simulator',
          amount: `${index + 1}0.05`,
          currency: 'BRL',
          beneficiary: account,
          reference,
        });
      expect(created.status).toBe(201);
    }
    const answer = await exportCsv({ provider: 'd24' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(answer.headers['content-disposition']).toMatch(/^attachment; filename="payouts-[\dTZ-]+\.csv"$/);
    const text = answer.body as string;
    expect(text.startsWith('\ufeff' + EXPORT_COLUMNS.join(','))).toBe(true);
    expect(text).toContain('\r\n');
    expect(text).not.toContain('998877665');
    expect(text).not.toContain('84932568207');
    const rows = rowsOf(text);
    const list = await http().get('/v1/payouts').query({ provider: 'd24', limit: 100 }).set(admin());
    expect(rows.map((row) => row.id)).toEqual(list.body.items.map((item: { id: string }) => item.id));
    const byReference = new Map(rows.map((row) => [row.reference, row]));
    expect(byReference.get(`'=HYPERLINK("http://evil.example","x")`)).toBeDefined();
    expect(byReference.get(`'+cmd`)).toBeDefined();
    expect(byReference.get('inv, "quoted"\nsecond line')).toMatchObject({
      amount: '20.05',
      currency: 'BRL',
      beneficiaryType: 'latam_bank_account',
      beneficiaryCountry: 'BR',
      beneficiaryAccount: '…7665',
      beneficiaryDocument: '…8207',
      approvalsRequired: '0',
    });

    const filtered = rowsOf((await exportCsv({ reference: 'plain-ref' })).body as string);
    expect(filtered.map((row) => row.reference)).toEqual(['plain-ref']);
    const none = await exportCsv({ status: 'cancelled', provider: 'verestro' });
    expect(rowsOf(none.body as string)).toEqual([]);
    expect(none.body).toBe('\ufeff' + EXPORT_COLUMNS.join(',') + '\r\n');
  });

  it('pages through thousands of rows in order without repeating or skipping one', async () => {
    const [template] = await world.t.dataSource.query(`SELECT id FROM payouts WHERE reference = 'plain-ref'`);
    await world.t.dataSource.query(
      `INSERT INTO payouts
       SELECT (jsonb_populate_record(NULL::payouts, to_jsonb(p) || jsonb_build_object(
         'id', gen_random_uuid(), 'reference', 'bulk-' || g,
         'created_at', p.created_at - (g % 7) * interval '1 second'))).*
       FROM payouts p, generate_series(1, 1203) g WHERE p.id = $1`,
      [template.id],
    );
    const rows = rowsOf((await exportCsv()).body as string);
    const [{ total }] = await world.t.dataSource.query('SELECT count(*)::int AS total FROM payouts');
    expect(rows.length).toBe(total);
    expect(new Set(rows.map((row) => row.id)).size).toBe(total);
    const order = rows.map((row) => [row.createdAt, row.id].join('|'));
    expect(order).toEqual([...order].sort().reverse());
  });

  it('the list pages exactly through payouts created within one millisecond (a cursor keeps microseconds)', async () => {
    const [template] = await world.t.dataSource.query(`SELECT id FROM payouts WHERE reference = 'plain-ref'`);
    // Seven payouts in one millisecond, microseconds apart: a millisecond cursor skipped some.
    await world.t.dataSource.query(
      `INSERT INTO payouts
       SELECT (jsonb_populate_record(NULL::payouts, to_jsonb(p) || jsonb_build_object(
         'id', gen_random_uuid(), 'reference', 'same-ms',
         'created_at', date_trunc('milliseconds', now()) + interval '1 day' + g * interval '1 microsecond'))).*
       FROM payouts p, generate_series(1, 7) g WHERE p.id = $1`,
      [template.id],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await http()
        .get('/v1/payouts')
        .query({ reference: 'same-ms', limit: 2, ...(cursor ? { cursor } : {}) })
        .set(admin());
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(7);
    expect(new Set(seen).size).toBe(7);
    // A cursor given out before (ISO date|id) is still read.
    const legacy = Buffer.from(`${new Date(Date.now() + 2 * 86_400_000).toISOString()}|${seen[0]}`).toString(
      'base64url',
    );
    const fromLegacy = await http().get('/v1/payouts').query({ reference: 'same-ms', cursor: legacy }).set(admin());
    expect([fromLegacy.status, fromLegacy.body.items.length]).toEqual([200, 7]);
  });

  it('refuses bad filters with JSON, and survives a client that goes away mid-file', async () => {
    const bad = await http().get('/v1/payouts/export.csv').query({ status: 'nope' }).set(admin());
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const controller = new AbortController();
    const response = await fetch(`${world.baseUrl}/v1/payouts/export.csv`, {
      headers: admin(),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    const after = await http().get('/v1/payouts/export.csv').query({ reference: 'plain-ref' }).set(admin());
    expect(after.status).toBe(200);
  });
});
