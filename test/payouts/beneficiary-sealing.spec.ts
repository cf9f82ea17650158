import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { BeneficiarySealing } from '../../src/payouts/beneficiary/beneficiary-sealing';
import { PayoutBeneficiaries } from '../../src/payouts/beneficiary/payout-beneficiaries';
import { maskBeneficiary } from '../../src/payouts/domain/payout';
import { PayoutEntity, toPayout } from '../../src/payouts/persistence/payout.entity';
import type { Beneficiary } from '../../src/providers/provider.port';
import { Receiver } from '../support/receiver';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { bearer, startTestApp } from '../support/test-app';

const run = promisify(execFile);

// Values used nowhere else, so finding one anywhere means it leaked.
const d24Beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'Maria',
  lastName: 'Souza',
  documentId: '52998224725',
  documentType: 'CPF',
  bankCode: 1,
  bankBranch: '0001',
  bankAccount: '246813579',
  accountType: 'C',
} as const;
const d24Recovered = { ...d24Beneficiary, documentId: '39053344705', bankAccount: '135792468' };
const ibanBeneficiary = {
  type: 'iban',
  name: 'Erika Sealed',
  iban: 'DE40500105175407139248',
  bic: 'COBADEFFXXX',
} as const;
const cardBeneficiary = { type: 'card', cardToken: 'tok_mc_sealed_7315', name: 'Jan Sealed' } as const;
// Rows as the previous version wrote them (plaintext beneficiary, no sealed columns).
const legacyD24 = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'Legacy',
  documentId: '11144477735',
  bankCode: 1,
  bankAccount: '864213579',
  bankBranch: '0001',
  accountType: 'C',
} as const;
const legacyIban = { type: 'iban', name: 'Legacy Iban', iban: 'DE36760260000123456789' } as const;

const FULL_VALUES = [
  d24Beneficiary.documentId,
  d24Beneficiary.bankAccount,
  d24Recovered.documentId,
  d24Recovered.bankAccount,
  ibanBeneficiary.iban,
  'DE40 5001 0517 5407 1392 48',
  cardBeneficiary.cardToken,
  legacyD24.documentId,
  legacyD24.bankAccount,
  legacyIban.iban,
];

/** The server's major version, and pg_dump's if there is one that can dump it (same or newer major). */
async function usablePgDump(serverMajor: number): Promise<boolean> {
  try {
    const { stdout } = await run('pg_dump', ['--version']);
    const major = Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1]);
    return major >= serverMajor;
  } catch {
    return false;
  }
}

describe('beneficiaries sealed at rest (a database dump holds no full account data)', () => {
  let world: ProviderWorld;
  const receiver = new Receiver();

  beforeAll(async () => {
    world = await startProviderWorld({ EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' }, 41);
    const { code } = (await admin<{ code: string }>(world.sims, 'POST', '/connectpay/auth-codes')).body;
    const authorized = await world.t.http
      .post('/v1/credentials/connectpay/oauth/authorize')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', authCode: code });
    expect(authorized.status).toBe(201);
    // A subscriber, so that outbound_events has rows too.
    const url = await receiver.start();
    expect(
      (
        await world.t.http
          .post('/v1/event-subscriptions')
          .set(bearer(world.t.adminKey))
          .send({ url: `${url}/events` })
      ).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await world.close();
    await receiver.stop();
  });

  const post = (body: Record<string, unknown>, key: string = randomUUID()) =>
    world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', key).send(body);
  const get = async (id: string) => (await world.t.http.get(`/v1/payouts/${id}`).set(bearer(world.t.adminKey))).body;
  const completed = (id: string) =>
    eventually(
      () => get(id),
      (p) => p.status === 'completed',
      10_000,
    );

  it('pays on all three rails with the full beneficiary while answers, replays and history stay masked', async () => {
    const d24Key = randomUUID();
    const d24 = await post(
      {
        provider: 'd24',
        environment: 'simulator',
        amount: '150.75',
        currency: 'BRL',
        beneficiary: d24Beneficiary,
        reference: 'sealed-d24',
      },
      d24Key,
    );
    const connectpay = await post({
      provider: 'connectpay',
      environment: 'simulator',
      amount: '42.10',
      currency: 'EUR',
      beneficiary: ibanBeneficiary,
      reference: 'sealed-iban',
    });
    const verestro = await post({
      provider: 'verestro',
      environment: 'simulator',
      amount: '19.99',
      currency: 'EUR',
      beneficiary: cardBeneficiary,
      reference: 'sealed-card',
    });
    expect([d24.status, connectpay.status, verestro.status]).toEqual([201, 201, 201]);
    expect(d24.body.beneficiary).toEqual({
      type: 'latam_bank_account',
      country: 'BR',
      name: 'Maria',
      documentId: '…4725',
      bankCode: 1,
      bankAccount: '…3579',
    });
    expect(connectpay.body.beneficiary).toEqual({
      type: 'iban',
      name: 'Erika Sealed',
      iban: '…9248',
      bic: 'COBADEFFXXX',
    });
    expect(verestro.body.beneficiary).toEqual({ type: 'card', cardToken: '…7315' });
    const replay = await post(
      {
        provider: 'd24',
        environment: 'simulator',
        amount: '150.75',
        currency: 'BRL',
        beneficiary: d24Beneficiary,
        reference: 'sealed-d24',
      },
      d24Key,
    );
    expect(replay.body).toEqual(d24.body);
    await Promise.all([d24, connectpay, verestro].map((r) => completed(r.body.id)));

    // The providers got the full values (opened for the call), not the masks.
    const d24Ledger = (
      await admin<Array<{ externalId: string; bankAccount?: string }>>(world.sims, 'GET', '/d24/ledger')
    ).body;
    expect(d24Ledger.find((e) => e.externalId === d24.body.id)?.bankAccount).toBe(d24Beneficiary.bankAccount);
    const cpLedger = (
      await admin<Array<{ externalReference: string; creditorIban: string }>>(world.sims, 'GET', '/connectpay/ledger')
    ).body;
    expect(cpLedger.find((e) => e.externalReference === connectpay.body.id)?.creditorIban).toBe(ibanBeneficiary.iban);
    const veLedger = (
      await admin<Array<{ externalId: string; cardToken: string }>>(world.sims, 'GET', '/verestro/ledger')
    ).body;
    expect(veLedger.find((e) => e.externalId === verestro.body.id)?.cardToken).toBe(cardBeneficiary.cardToken);

    // The row: masked readable column, sealed columns, fingerprint usable for lookups.
    const [row] = await world.t.dataSource.query(
      `SELECT beneficiary, beneficiary_master_key_id, beneficiary_fingerprint FROM payouts WHERE id = $1`,
      [d24.body.id],
    );
    expect(row.beneficiary).toEqual(d24.body.beneficiary);
    expect(row.beneficiary_fingerprint).toBe(
      world.t.app.get(PayoutBeneficiaries).fingerprint(d24Beneficiary as Beneficiary),
    );
    expect(
      await world.t.app
        .get(BeneficiarySealing)
        .payoutIdsTo({ ...ibanBeneficiary, iban: 'DE40 5001 0517 5407 1392 48' }),
    ).toEqual([connectpay.body.id]);
  });

  it('a submission whose answer was lost is re-sent by the reconciler with the beneficiary opened from the row', async () => {
    await admin(world.sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { resetRate: 1 } });
    let id: string;
    try {
      const created = await post({
        provider: 'd24',
        environment: 'simulator',
        amount: '10.00',
        currency: 'BRL',
        beneficiary: d24Recovered,
        reference: 'sealed-recovered',
      });
      expect(created.body.status).toBe('unknown');
      id = created.body.id;
    } finally {
      await admin(world.sims, 'DELETE', '/d24/faults');
    }
    await completed(id);
    const ledger = (
      await admin<Array<{ externalId: string; bankAccount?: string }>>(world.sims, 'GET', '/d24/ledger')
    ).body.filter((e) => e.externalId === id);
    expect(ledger.map((e) => e.bankAccount)).toEqual([d24Recovered.bankAccount]);
  });

  it('the boot-time job seals rows written before sealing (idempotent, logged), which then still pay', async () => {
    const waiting = randomUUID();
    const done = randomUUID();
    // As the previous version inserted them; the open one is not due yet, so the reconciler waits for the job.
    await world.t.dataSource.query(
      `INSERT INTO payouts (id, provider, environment, status, amount, currency, beneficiary, reference, metadata, next_check_at, created_at, updated_at)
       VALUES ($1, 'd24', 'simulator', 'requested', 12.5, 'BRL', $3, 'sealed-legacy', '{}', now() + interval '1 hour', now() - interval '1 day', now() - interval '1 day'),
              ($2, 'connectpay', 'simulator', 'completed', 3, 'EUR', $4, 'sealed-legacy', '{}', NULL, now() - interval '1 day', now() - interval '1 day')`,
      [waiting, done, JSON.stringify(legacyD24), JSON.stringify(legacyIban)],
    );
    // Even before the job, answers show a legacy row masked.
    expect((await get(waiting)).beneficiary).toEqual({
      type: 'latam_bank_account',
      country: 'BR',
      name: 'Legacy',
      documentId: '…7735',
      bankCode: 1,
      bankAccount: '…3579',
    });
    // Lists and exports (which read the masked view without the sealed columns) mask them too.
    const listed = await world.t.http.get('/v1/payouts?reference=sealed-legacy').set(bearer(world.t.adminKey));
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(2);
    for (const item of listed.body.items as Array<{ id: string; beneficiary: unknown }>)
      expect(item.beneficiary).toEqual((await get(item.id)).beneficiary);
    const exported = await world.t.http
      .get('/v1/payouts/export.csv?reference=sealed-legacy')
      .set(bearer(world.t.adminKey));
    expect(exported.status).toBe(200);
    expect(exported.text.split('\n').filter((line) => line.includes('sealed-legacy'))).toHaveLength(2);
    for (const text of [JSON.stringify(listed.body), exported.text])
      for (const secret of [legacyD24.documentId, legacyD24.bankAccount, legacyIban.iban])
        expect(text).not.toContain(secret);

    // A replica of this version starting on the database seals them (in the background) and says how many.
    const replica = await startTestApp({ database: world.t.database, env: { ADMIN_API_KEY: world.t.adminKey } });
    try {
      await replica.app.get(BeneficiarySealing).bootPassDone();
      // (Nest's Logger is process-wide, so two apps in one test process share a log stream.)
      const logs = [...world.t.logs.parsed(), ...replica.logs.parsed()];
      expect(logs.filter((line) => String(line.msg).includes('written before beneficiaries were sealed'))).toEqual([
        expect.objectContaining({
          context: 'BeneficiarySealing',
          sealed: 2,
          msg: 'sealed the beneficiary of 2 payout(s) written before beneficiaries were sealed',
        }),
      ]);
    } finally {
      await replica.close();
    }
    expect(await world.t.app.get(BeneficiarySealing).sealLegacyRows()).toBe(0);

    const beneficiaries = world.t.app.get(PayoutBeneficiaries);
    const rows: Array<{ id: string; beneficiary: unknown; beneficiary_fingerprint: string; updated_at: Date }> =
      await world.t.dataSource.query(
        `SELECT id, beneficiary, beneficiary_fingerprint, updated_at FROM payouts WHERE reference = 'sealed-legacy' AND beneficiary_ciphertext IS NOT NULL ORDER BY id`,
      );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const full = (row.id === waiting ? legacyD24 : legacyIban) as Beneficiary;
      expect(row.beneficiary).toEqual(JSON.parse(JSON.stringify(maskBeneficiary(full))));
      expect(row.beneficiary_fingerprint).toBe(beneficiaries.fingerprint(full));
      expect(Date.now() - row.updated_at.getTime()).toBeGreaterThan(3_600_000); // sealing is not a change of the payout
      const entity = await world.t.dataSource.getRepository(PayoutEntity).findOneByOrFail({ id: row.id });
      expect(beneficiaries.open(toPayout(entity).sealedBeneficiary)).toEqual(full);
    }

    await world.t.dataSource.query(`UPDATE payouts SET next_check_at = now() WHERE id = $1`, [waiting]);
    await completed(waiting);
    const ledger = (
      await admin<Array<{ externalId: string; bankAccount?: string }>>(world.sims, 'GET', '/d24/ledger')
    ).body.filter((e) => e.externalId === waiting);
    expect(ledger.map((e) => e.bankAccount)).toEqual([legacyD24.bankAccount]);
  });

  it('no table holds a full document, bank account, IBAN or card token (pg_dump, or every row as text), nor do the logs or the events sent', async () => {
    // Let the outbox deliver what the flows above announced.
    await eventually(
      () => world.t.dataSource.query(`SELECT count(*)::int AS n FROM outbound_events WHERE delivered_at IS NULL`),
      (rows: Array<{ n: number }>) => rows[0].n === 0,
      10_000,
    );
    const [{ server_version_num }] = await world.t.dataSource.query('SHOW server_version_num');
    const serverMajor = Math.floor(Number(server_version_num) / 10_000);

    let dump: string;
    if (await usablePgDump(serverMajor)) {
      dump = (
        await run('pg_dump', ['--no-owner', '--no-privileges', '--dbname', world.t.database.url], {
          maxBuffer: 256 * 1024 * 1024,
        })
      ).stdout;
      expect(dump).toContain('COPY public.payouts');
    } else {
      // No pg_dump for this server (the embedded PostgreSQL ships none): every row of every table as text.
      const tables: Array<{ table_name: string }> = await world.t.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
      );
      const parts: string[] = [];
      for (const { table_name } of tables) {
        const rows: Array<{ line: string }> = await world.t.dataSource.query(
          `SELECT row_to_json(t)::text AS line FROM public."${table_name}" t`,
        );
        parts.push(`-- ${table_name}`, ...rows.map((r) => r.line));
      }
      dump = parts.join('\n');
    }

    // Every table the flows wrote to is in it, with rows.
    for (const table of ['payouts', 'payout_events', 'idempotency_keys', 'outbound_events', 'webhook_deliveries']) {
      const [{ n }] = await world.t.dataSource.query(`SELECT count(*)::int AS n FROM public."${table}"`);
      expect([table, n > 0]).toEqual([table, true]);
    }
    const sent = receiver.received.map((r) => r.body).join('\n');
    expect(sent).toContain('payout.status_changed');
    for (const value of FULL_VALUES) {
      expect([value, dump.includes(value)]).toEqual([value, false]);
      expect([value, dump.includes(Buffer.from(value).toString('hex'))]).toEqual([value, false]);
      expect([value, world.t.logs.text.includes(value)]).toEqual([value, false]);
      expect([value, sent.includes(value)]).toEqual([value, false]);
    }
  });
});
