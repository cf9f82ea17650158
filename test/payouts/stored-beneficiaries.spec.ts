import { plainToInstance } from 'class-transformer';
import { randomUUID } from 'node:crypto';
import { CreatePayoutDto } from '../../src/payouts/dto/payout.dto';
import { toNewPayout } from '../../src/payouts/payout-input';
import { PayoutsService } from '../../src/payouts/payouts.service';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { eventually } from '../support/sim-client';
import { brazilianAccount } from '../support/beneficiaries';
import { bearer } from '../support/test-app';

const cpfAccount = brazilianAccount();

/** Stored beneficiaries over the real stack: checked, sealed, masked, deduplicated, paid by id, disabled. */
describe('stored beneficiaries (POST /v1/beneficiaries, payouts by beneficiaryId)', () => {
  let world: ProviderWorld;
  const http = () => world.t.http;
  const admin = () => bearer(world.t.adminKey);

  beforeAll(async () => {
    world = await startProviderWorld({}, 31);
  });
  afterAll(() => world.close());

  const store = (beneficiary: Record<string, unknown>, label?: string) =>
    http().post('/v1/beneficiaries').set(admin()).send({ beneficiary, label });
  const pay = (body: Record<string, unknown>, key = randomUUID()) =>
    http()
      .post('/v1/payouts')
      .set(admin())
      .set('Idempotency-Key', key)
      .send({ provider: 'd24', environment: 'simulator', amount: '42.00', currency: 'BRL', ...body });

  it('stores a checked beneficiary sealed at rest and answers it masked', async () => {
    const stored = await store(cpfAccount, 'supplier 42');
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({
      rail: 'latam_bank_account',
      label: 'supplier 42',
      status: 'active',
      beneficiary: { type: 'latam_bank_account', country: 'BR', documentId: '…8207', bankAccount: '…6789' },
      disabledAt: null,
    });
    expect(JSON.stringify(stored.body)).not.toContain('84932568207');
    const [row] = await world.t.dataSource.query(
      'SELECT masked::text AS masked, ciphertext, fingerprint FROM beneficiaries WHERE id = $1',
      [stored.body.id],
    );
    expect(row.masked).not.toContain('84932568207');
    expect((row.ciphertext as Buffer).toString('latin1')).not.toContain('84932568207');
    expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses the same account again, however it is formatted, naming the stored one; also when sent at once', async () => {
    const first = await store({ ...cpfAccount, documentId: '52998224725' });
    expect(first.status).toBe(201);
    const again = await store({ ...cpfAccount, documentId: '529.982.247-25', name: 'Jose' });
    expect([again.status, again.body.error.code, again.body.error.details]).toEqual([
      409,
      'BENEFICIARY_DUPLICATE',
      { beneficiaryId: first.body.id },
    ]);

    const racing = await Promise.all(
      Array.from({ length: 8 }, () => store({ ...cpfAccount, documentId: '39053344705', bankAccount: '987654321' })),
    );
    expect(racing.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
  });

  it('refuses a beneficiary that breaks its rail’s rules, with every field', async () => {
    const answer = await store({ ...cpfAccount, documentId: '84932568208', bankCode: 'x' });
    expect(answer.status).toBe(400);
    expect([...new Set(answer.body.error.details.map((problem: { field: string }) => problem.field))].sort()).toEqual([
      'beneficiary.bankCode',
      'beneficiary.documentId',
    ]);
  });

  it('pays a stored beneficiary by id to completion; the payout records which one', async () => {
    const stored = await store({ ...cpfAccount, documentId: '11144477735' });
    const created = await pay({ beneficiaryId: stored.body.id });
    expect(created.status).toBe(201);
    expect(created.body.beneficiary).toMatchObject({ type: 'latam_bank_account', documentId: '…7735' });
    const done = await eventually(
      async () => (await http().get(`/v1/payouts/${created.body.id}`).set(admin())).body,
      (payout: { status: string }) => payout.status === 'completed',
    );
    expect(done.status).toBe('completed');
    const [row] = await world.t.dataSource.query('SELECT beneficiary_id FROM payouts WHERE id = $1', [created.body.id]);
    expect(row.beneficiary_id).toBe(stored.body.id);
  });

  it('refuses beneficiaryId with the account too, an unknown id, and a beneficiary of another rail; nothing stored', async () => {
    const stored = await store({ ...cpfAccount, documentId: '16727230000197', documentType: 'CNPJ' });
    const before = await world.t.dataSource.query('SELECT count(*)::int AS n FROM payouts');

    const both = await pay({ beneficiaryId: stored.body.id, beneficiary: cpfAccount });
    expect([both.status, both.body.error.details[0].code]).toEqual([400, 'EXACTLY_ONE']);
    const unknown = await pay({ beneficiaryId: randomUUID() });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'BENEFICIARY_NOT_FOUND']);
    const wrongRail = await http().post('/v1/payouts').set(admin()).set('Idempotency-Key', randomUUID()).send({
      provider: 'verestro',
      environment: 'simulator',
      amount: '1.00',
      currency: 'EUR',
      beneficiaryId: stored.body.id,
    });
    expect([wrongRail.status, wrongRail.body.error.details[0]]).toEqual([
      400,
      {
        field: 'beneficiaryId',
        code: 'WRONG_RAIL',
        message: 'is a latam_bank_account beneficiary; verestro pays to card',
      },
    ]);

    expect(await world.t.dataSource.query('SELECT count(*)::int AS n FROM payouts')).toEqual(before);
  });

  it('a disabled beneficiary cannot be paid, a payout made before replays unchanged, and the account can be stored again', async () => {
    const account = { ...cpfAccount, documentId: '24843803480' };
    const stored = await store(account);
    const key = randomUUID();
    const paid = await pay({ beneficiaryId: stored.body.id }, key);
    expect(paid.status).toBe(201);

    const disabled = await http().post(`/v1/beneficiaries/${stored.body.id}/disable`).set(admin());
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledByKeyId: expect.any(String) });
    const twice = await http().post(`/v1/beneficiaries/${stored.body.id}/disable`).set(admin());
    expect(twice.body.disabledAt).toBe(disabled.body.disabledAt);

    const refused = await pay({ beneficiaryId: stored.body.id });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'BENEFICIARY_DISABLED']);
    const replayed = await pay({ beneficiaryId: stored.body.id }, key);
    expect([replayed.status, replayed.body.id]).toEqual([201, paid.body.id]);

    const restored = await store(account);
    expect(restored.status).toBe(201);
    expect(restored.body.id).not.toBe(stored.body.id);
  });

  it('lists newest first with filters and a cursor that neither skips nor repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string; rail: string }>; nextCursor: string | null } } = await http()
        .get('/v1/beneficiaries')
        .query({ rail: 'latam_bank_account', limit: 2, ...(cursor ? { cursor } : {}) })
        .set(admin());
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const [{ n }] = await world.t.dataSource.query(
      `SELECT count(*)::int AS n FROM beneficiaries WHERE rail = 'latam_bank_account'`,
    );
    expect(new Set(seen).size).toBe(n);
    expect(seen).toHaveLength(n);
    const newestFirst: Array<{ id: string }> = await world.t.dataSource.query(
      `SELECT id FROM beneficiaries WHERE rail = 'latam_bank_account' ORDER BY created_at DESC, id DESC`,
    );
    expect(seen).toEqual(newestFirst.map((row) => row.id));

    const disabled = await http().get('/v1/beneficiaries').query({ status: 'disabled' }).set(admin());
    expect(disabled.body.items.length).toBeGreaterThan(0);
    expect(disabled.body.items.every((item: { status: string }) => item.status === 'disabled')).toBe(true);
    const bad = await http().get('/v1/beneficiaries').query({ cursor: 'not-a-cursor' }).set(admin());
    expect([bad.status, bad.body.error.details[0].code]).toEqual([400, 'INVALID_CURSOR']);
  });

  it('answers a retry with its first answer even when its account number breaks a rule that came later', async () => {
    // As a payout accepted before the number rules existed: stored through the service, past the controller.
    const body = {
      provider: 'd24',
      environment: 'simulator',
      amount: '5.00',
      currency: 'BRL',
      beneficiary: { ...cpfAccount, documentId: '12345678901' },
    };
    const { payout, refusedUnlessReplayed } = toNewPayout(plainToInstance(CreatePayoutDto, body));
    expect(refusedUnlessReplayed.map((problem) => problem.code)).toEqual(['INVALID_DOCUMENT']);
    const [{ id: adminKeyId }] = await world.t.dataSource.query('SELECT id FROM api_keys ORDER BY created_at LIMIT 1');
    const key = randomUUID();
    const first = await world.t.app.get(PayoutsService).create(payout, { apiKeyId: adminKeyId, key });
    expect(first.outcome).toBe('created');

    const retried = await http().post('/v1/payouts').set(admin()).set('Idempotency-Key', key).send(body);
    expect(retried.status).toBe(201);
    const fresh = await http().post('/v1/payouts').set(admin()).set('Idempotency-Key', randomUUID()).send(body);
    expect([fresh.status, fresh.body.error.details[0].code]).toEqual([400, 'INVALID_DOCUMENT']);
  });

  it('refuses null for beneficiary or beneficiaryId, and a cursor it did not write, with a 400 (never a 500)', async () => {
    for (const sent of [{ beneficiary: null }, { beneficiaryId: null }, { beneficiary: null, beneficiaryId: null }]) {
      const answer = await pay(sent);
      expect([answer.status, answer.body.error.details[0].code]).toEqual([400, 'EXACTLY_ONE']);
    }
    for (const cursor of [
      Buffer.from('2020|' + '-'.repeat(36)).toString('base64url'),
      Buffer.from('1|x').toString('base64url'),
    ]) {
      const answer = await http().get('/v1/beneficiaries').query({ cursor }).set(admin());
      expect([answer.status, answer.body.error.details[0].code]).toEqual([400, 'INVALID_CURSOR']);
    }
  });

  it('needs beneficiaries:write to store and beneficiaries:read to list', async () => {
    const reader = await http()
      .post('/v1/api-keys')
      .set(admin())
      .send({ name: 'payouts only', scopes: ['payouts:read', 'payouts:write'] });
    const refused = await http()
      .post('/v1/beneficiaries')
      .set(bearer(reader.body.key))
      .send({ beneficiary: cpfAccount });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
    const listing = await http().get('/v1/beneficiaries').set(bearer(reader.body.key));
    expect(listing.status).toBe(403);
  });
});
