import { randomUUID } from 'node:crypto';
import { PayoutReconciler } from '../../src/payouts/payout-reconciler';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { admin as simulatorAdmin, eventually } from '../support/sim-client';
import { brazilianAccount } from '../support/beneficiaries';
import { bearer } from '../support/test-app';

const account = (bankAccount: string) => brazilianAccount({ bankAccount });

/**
 * Money-out controls over the real stack (PostgreSQL, the D24 simulator over TLS): payout
 * policies' limits, enforced atomically, and maker-checker approvals by key owners.
 */
describe('payout policies and approvals', () => {
  let world: ProviderWorld;
  const http = () => world.t.http;
  const adminKey = () => bearer(world.t.adminKey);
  /** Keys by owner: a maker (creates payouts), two checkers, and the maker's second key that may approve. */
  const keys: Record<'maker' | 'makerApprover' | 'bea' | 'caio' | 'capped', { id: string; key: string }> = {} as never;

  async function createKey(name: string, owner: string, scopes: string[]): Promise<{ id: string; key: string }> {
    const answer = await http().post('/v1/api-keys').set(adminKey()).send({ name, owner, scopes });
    expect(answer.status).toBe(201);
    return { id: answer.body.id, key: answer.body.key };
  }

  beforeAll(async () => {
    world = await startProviderWorld({ EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' }, 41);
    keys.maker = await createKey('maker', 'ana@acme.example', ['payouts:read', 'payouts:write']);
    keys.makerApprover = await createKey('maker-approves', 'ana@acme.example', ['payouts:read', 'payouts:approve']);
    keys.bea = await createKey('bea', 'bea@acme.example', ['payouts:read', 'payouts:approve']);
    keys.caio = await createKey('caio', 'caio@acme.example', ['payouts:read', 'payouts:approve']);
    keys.capped = await createKey('capped', 'batch-service', ['payouts:read', 'payouts:write']);
  });
  afterAll(() => world.close());

  const putPolicies = (policies: unknown[]) => http().put('/v1/payout-policies').set(adminKey()).send({ policies });
  const pay = (as: { key: string }, body: Record<string, unknown> = {}, idempotencyKey = randomUUID()) =>
    http()
      .post('/v1/payouts')
      .set(bearer(as.key))
      .set('Idempotency-Key', idempotencyKey)
      .send({
        provider: 'd24',
        environment: 'simulator',
        amount: '10.00',
        currency: 'BRL',
        beneficiary: account('123456789'),
        ...body,
      });
  const decide = (as: { key: string }, id: string, decision: 'approve' | 'reject', comment?: string) =>
    http()
      .post(`/v1/payouts/${id}/${decision}`)
      .set(bearer(as.key))
      .send(comment ? { comment } : {});
  const ledgerIds = async () =>
    new Set(
      (await simulatorAdmin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.map(
        (entry) => entry.externalId,
      ),
    );
  const payoutCount = async (keyId: string) =>
    Number(
      (await world.t.dataSource.query('SELECT count(*) AS n FROM payouts WHERE created_by_key_id = $1', [keyId]))[0].n,
    );

  describe('PUT/GET /v1/payout-policies', () => {
    it('refuses a set with any bad policy, naming every problem, and writes none of it', async () => {
      const answer = await putPolicies([
        { currency: 'BRL', maxAmountPerPayout: '100.00' },
        { currency: 'BRL' },
        { currency: 'BRL', maxAmountPerPayout: '5.00' },
        { currency: 'JPY', maxAmountPerPayout: '10.5' },
        { currency: 'BRL', provider: 'd24', environment: 'sandbox', rolling24h: {} },
        { currency: 'XXQ', approval: { requiredApprovals: 2 } },
      ]);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(
        (answer.body.error.details as Array<{ field: string; code: string }>).map((p) => `${p.field} ${p.code}`).sort(),
      ).toEqual(
        [
          'policies[1] EMPTY_POLICY',
          'policies[1] DUPLICATE_SCOPE',
          'policies[2] DUPLICATE_SCOPE',
          'policies[3].maxAmountPerPayout TOO_PRECISE',
          'policies[4].environment NOT_AN_ENVIRONMENT_OF_PROVIDER',
          'policies[4].rolling24h EMPTY_RULE',
          'policies[5].currency UNKNOWN_CURRENCY',
          'policies[5].approval EMPTY_RULE',
        ].sort(),
      );
      expect((await http().get('/v1/payout-policies').set(adminKey())).body).toEqual({ policies: [] });
    });

    it('needs policies:read and policies:write', async () => {
      expect((await http().get('/v1/payout-policies').set(bearer(keys.maker.key))).status).toBe(403);
      expect((await putPolicies([])).status).toBe(200);
      const asMaker = await http().put('/v1/payout-policies').set(bearer(keys.maker.key)).send({ policies: [] });
      expect([asMaker.status, asMaker.body.error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
    });
  });

  describe('limits', () => {
    afterEach(async () => expect((await putPolicies([])).status).toBe(200));

    it('refuses a payout over the per-payout maximum with 422 naming the limit, storing nothing and leaving the key free', async () => {
      const set = await putPolicies([{ currency: 'BRL', apiKeyId: keys.capped.id, maxAmountPerPayout: '100.00' }]);
      expect(set.status).toBe(200);
      expect(set.body.policies).toEqual([
        expect.objectContaining({
          currency: 'BRL',
          provider: null,
          apiKeyId: keys.capped.id,
          maxAmountPerPayout: '100.00',
          rolling24h: { maxAmount: null, maxCount: null },
          approval: null,
        }),
      ]);
      const before = await payoutCount(keys.capped.id);
      const idempotencyKey = randomUUID();
      const refused = await pay(keys.capped, { amount: '100.01' }, idempotencyKey);
      expect([refused.status, refused.body.error.code]).toEqual([422, 'PAYOUT_LIMIT_PER_PAYOUT']);
      expect(refused.body.error.details).toEqual({
        limit: 'maxAmountPerPayout',
        policyId: set.body.policies[0].id,
        max: '100.00',
        used: null,
        headroom: '100.00',
        currency: 'BRL',
      });
      expect(await payoutCount(keys.capped.id)).toBe(before);
      // The key was not used: the same key with an amount inside the limit is a new payout.
      const accepted = await pay(keys.capped, { amount: '100.00' }, idempotencyKey);
      expect(accepted.status).toBe(201);
      // Other keys are not governed by that key's policy.
      expect((await pay(keys.maker, { amount: '500.00' })).status).toBe(201);
    });

    it('200 concurrent payouts cannot pass a rolling 24 h cap together', async () => {
      const set = await putPolicies([
        { currency: 'BRL', apiKeyId: keys.capped.id, rolling24h: { maxAmount: '1000.00', maxCount: 150 } },
      ]);
      expect(set.status).toBe(200);
      const [{ used }] = await world.t.dataSource.query(
        `SELECT COALESCE(sum(amount), 0)::numeric AS used FROM payouts
         WHERE created_by_key_id = $1 AND created_at > now() - interval '24 hours' AND status NOT IN ('failed', 'rejected', 'cancelled')`,
        [keys.capped.id],
      );
      const answers = await Promise.all(Array.from({ length: 200 }, () => pay(keys.capped, { amount: '7.00' })));
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status !== 201 && status !== 422)).toEqual([]);
      const refused = answers.filter((answer) => answer.status === 422);
      expect(new Set(refused.map((answer) => answer.body.error.code))).toEqual(
        new Set(['PAYOUT_LIMIT_ROLLING_AMOUNT']),
      );
      expect(refused.length).toBeGreaterThan(0);
      const [{ total }] = await world.t.dataSource.query(
        `SELECT COALESCE(sum(amount), 0)::numeric AS total FROM payouts
         WHERE created_by_key_id = $1 AND created_at > now() - interval '24 hours' AND status NOT IN ('failed', 'rejected', 'cancelled')`,
        [keys.capped.id],
      );
      expect(Number(total)).toBeLessThanOrEqual(1000);
      // Nobody was refused while there was room for one more: the cap was filled to within one payout.
      expect(Number(total)).toBeGreaterThan(1000 - 7);
      expect(Number(used)).toBeLessThan(1000 - 7 * 10); // the test really had room for many payouts
      const headroom = refused[refused.length - 1].body.error.details;
      expect(headroom).toMatchObject({ limit: 'rolling24hAmount', max: '1000.00', currency: 'BRL' });
      expect(Number(headroom.headroom)).toBeLessThan(7);
    });

    it('counts payouts against a rolling count limit, and a failed payout gives its place back', async () => {
      const set = await putPolicies([{ currency: 'BRL', apiKeyId: keys.maker.id, rolling24h: { maxCount: 1 } }]);
      expect(set.status).toBe(200);
      // Earlier tests' payouts by this key are within 24 h: clear the window by failing them.
      await world.t.dataSource.query(`UPDATE payouts SET status = 'failed' WHERE created_by_key_id = $1`, [
        keys.maker.id,
      ]);
      expect((await pay(keys.maker)).status).toBe(201);
      const second = await pay(keys.maker);
      expect([second.status, second.body.error.code, second.body.error.details.headroom]).toEqual([
        422,
        'PAYOUT_LIMIT_ROLLING_COUNT',
        0,
      ]);
      await world.t.dataSource.query(`UPDATE payouts SET status = 'failed' WHERE created_by_key_id = $1`, [
        keys.maker.id,
      ]);
      expect((await pay(keys.maker)).status).toBe(201);
    });
  });

  describe('approvals', () => {
    beforeAll(async () => {
      const set = await putPolicies([
        { currency: 'BRL', apiKeyId: keys.maker.id, approval: { atOrAbove: '500.00', requiredApprovals: 2 } },
      ]);
      expect(set.status).toBe(200);
    });
    afterAll(async () => expect((await putPolicies([])).status).toBe(200));

    it('holds a payout over the threshold until two other owners approve it, then sends it', async () => {
      const idempotencyKey = randomUUID();
      const created = await pay(keys.maker, { amount: '600.00', reference: 'needs-two' }, idempotencyKey);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'pending_approval', approval: { required: 2 } });
      expect(Date.parse(created.body.approval.expiresAt)).toBeGreaterThan(Date.now() + 71 * 3_600_000);
      const id = created.body.id as string;
      expect((await ledgerIds()).has(id)).toBe(false);
      // A replay answers the same.
      const replay = await pay(keys.maker, { amount: '600.00', reference: 'needs-two' }, idempotencyKey);
      expect([replay.status, replay.body]).toEqual([201, created.body]);

      // The creator cannot approve, not even through another of their keys.
      const own = await decide(keys.makerApprover, id, 'approve');
      expect([own.status, own.body.error.code]).toEqual([403, 'APPROVER_IS_CREATOR']);
      // A key without payouts:approve cannot either.
      expect((await decide(keys.capped, id, 'approve')).status).toBe(403);

      const first = await decide(keys.bea, id, 'approve', 'invoice 118 checked');
      expect([first.status, first.body.status]).toEqual([200, 'pending_approval']);
      // The same owner again is not a second approval.
      const again = await decide(keys.bea, id, 'approve');
      expect([again.status, again.body.status]).toEqual([200, 'pending_approval']);
      expect((await ledgerIds()).has(id)).toBe(false);

      const second = await decide(keys.caio, id, 'approve');
      expect(second.status).toBe(200);
      expect(second.body.status).not.toBe('pending_approval');
      await eventually(
        async () => (await http().get(`/v1/payouts/${id}`).set(adminKey())).body.status,
        (status) => status === 'completed',
        10_000,
      );
      expect((await ledgerIds()).has(id)).toBe(true);
      // Approving a payout that was sent is a conflict, unless you approved it (then it answers it as it is).
      const late = await decide(keys.makerApprover, id, 'approve');
      expect([late.status, late.body.error.code]).toEqual([409, 'PAYOUT_NOT_PENDING_APPROVAL']);
      expect((await decide(keys.bea, id, 'approve')).status).toBe(200);

      const history = (await http().get(`/v1/payouts/${id}/events`).set(adminKey())).body as Array<{
        type: string;
        fromStatus: string | null;
        toStatus: string;
        detail: Record<string, unknown>;
      }>;
      expect(history[0]).toMatchObject({
        type: 'created',
        toStatus: 'pending_approval',
        detail: {
          createdBy: { keyId: keys.maker.id, principal: 'ana@acme.example' },
          approval: { required: 2, reasons: ['atOrAbove'] },
        },
      });
      expect(history.filter((entry) => entry.type === 'approval').map((entry) => entry.detail.principal)).toEqual([
        'bea@acme.example',
        'caio@acme.example',
      ]);
      expect(history.find((entry) => entry.type === 'transition')).toMatchObject({
        fromStatus: 'pending_approval',
        toStatus: 'requested',
        detail: { approvers: ['bea@acme.example', 'caio@acme.example'] },
      });
    });

    it('announces payout.created, payout.pending_approval and the final state to subscribers that chose them', async () => {
      const subscribed = await http()
        .post('/v1/event-subscriptions')
        .set(adminKey())
        // Nothing listens there: the outbox rows are what this test reads.
        .send({
          url: 'http://127.0.0.1:9/events',
          events: ['payout.created', 'payout.pending_approval', 'payout.cancelled', 'payout.completed'],
        });
      expect(subscribed.status).toBe(201);
      const announced = async (payoutId: string) =>
        (
          await world.t.dataSource.query<Array<{ type: string; payload: { data: Record<string, unknown> } }>>(
            `SELECT type, payload FROM outbound_events WHERE subscription_id = $1 AND payload->'data'->>'payoutId' = $2 ORDER BY id`,
            [subscribed.body.id, payoutId],
          )
        ).map((row) => [row.type, row.payload.data]);
      try {
        const waiting = await pay(keys.maker, { amount: '650.00', reference: 'announced' });
        expect((await decide(keys.bea, waiting.body.id, 'reject', 'duplicate invoice')).body.status).toBe('cancelled');
        expect(await announced(waiting.body.id)).toEqual([
          ['payout.created', expect.objectContaining({ status: 'pending_approval', reference: 'announced' })],
          [
            'payout.pending_approval',
            expect.objectContaining({ approvalsRequired: 2, approvalExpiresAt: expect.any(String) }),
          ],
          ['payout.cancelled', expect.objectContaining({ from: 'pending_approval', to: 'cancelled' })],
        ]);

        const direct = await pay(keys.maker, { amount: '12.00' });
        await eventually(
          () => announced(direct.body.id),
          (events) => events.length === 2,
          10_000,
        );
        expect(await announced(direct.body.id)).toEqual([
          [
            'payout.created',
            expect.objectContaining({ status: 'requested', amount: { amount: '12.00', currency: 'BRL' } }),
          ],
          ['payout.completed', expect.objectContaining({ to: 'completed' })],
        ]);
      } finally {
        await http().delete(`/v1/event-subscriptions/${subscribed.body.id}`).set(adminKey());
      }
    });

    it('sends a payout under the threshold at once', async () => {
      const created = await pay(keys.maker, { amount: '499.99' });
      expect([created.status, created.body.approval]).toEqual([201, null]);
      expect(created.body.status).not.toBe('pending_approval');
    });

    it('a rejected payout is cancelled and never reaches the provider', async () => {
      const created = await pay(keys.maker, { amount: '700.00' });
      const id = created.body.id as string;
      const rejected = await decide(keys.bea, id, 'reject', 'not ours');
      expect(rejected.status).toBe(200);
      expect(rejected.body).toMatchObject({ status: 'cancelled', failure: { code: 'APPROVAL_REJECTED' } });
      const approveAfter = await decide(keys.caio, id, 'approve');
      expect([approveAfter.status, approveAfter.body.error.code]).toEqual([409, 'PAYOUT_NOT_PENDING_APPROVAL']);
      await world.t.app.get(PayoutReconciler).runOnce();
      expect((await ledgerIds()).has(id)).toBe(false);
    });

    it('an approval that expires cancels the payout, which is never sent', async () => {
      const created = await pay(keys.maker, { amount: '800.00' });
      const id = created.body.id as string;
      await world.t.dataSource.query(
        `UPDATE payouts SET approval_expires_at = now() - interval '1 second' WHERE id = $1`,
        [id],
      );
      await world.t.app.get(PayoutReconciler).runOnce();
      const after = await http().get(`/v1/payouts/${id}`).set(adminKey());
      expect(after.body).toMatchObject({ status: 'cancelled', failure: { code: 'APPROVAL_EXPIRED' } });
      const late = await decide(keys.bea, id, 'approve');
      expect([late.status, late.body.error.code]).toEqual([409, 'PAYOUT_NOT_PENDING_APPROVAL']);
      expect((await ledgerIds()).has(id)).toBe(false);
    });

    it('approving after the deadline, before the sweep, cancels it and says so', async () => {
      const created = await pay(keys.maker, { amount: '800.00' });
      const id = created.body.id as string;
      // Past its deadline; the reconciler's sweep (every 200 ms here) may or may not have reached it.
      await world.t.dataSource.query(
        `UPDATE payouts SET approval_expires_at = now() - interval '1 second' WHERE id = $1`,
        [id],
      );
      const late = await decide(keys.bea, id, 'approve');
      // The reconciler may have swept it a moment before: then it is simply no longer pending.
      expect([409]).toContain(late.status);
      expect(['APPROVAL_EXPIRED', 'PAYOUT_NOT_PENDING_APPROVAL']).toContain(late.body.error.code);
      const after = await http().get(`/v1/payouts/${id}`).set(adminKey());
      expect(after.body).toMatchObject({ status: 'cancelled', failure: { code: 'APPROVAL_EXPIRED' } });
      expect((await ledgerIds()).has(id)).toBe(false);
    });

    it('a pending payout can be cancelled without any provider, and cannot be held; sync leaves it as it is', async () => {
      const created = await pay(keys.maker, { amount: '900.00' });
      const id = created.body.id as string;
      const held = await http().post(`/v1/payouts/${id}/hold`).set(bearer(keys.maker.key));
      expect([held.status, held.body.error.code]).toEqual([409, 'PAYOUT_PENDING_APPROVAL']);
      const synced = await http().post(`/v1/payouts/${id}/sync`).set(bearer(keys.maker.key));
      expect([synced.status, synced.body.status]).toEqual([200, 'pending_approval']);
      const cancelled = await http().post(`/v1/payouts/${id}/cancel`).set(bearer(keys.maker.key));
      expect(cancelled.body).toMatchObject({ status: 'cancelled', failure: { code: 'CANCELLED_BEFORE_APPROVAL' } });
      expect((await ledgerIds()).has(id)).toBe(false);
    });

    it('the first payout to a new account waits for approval; once one completed, the next goes at once', async () => {
      const set = await putPolicies([
        { currency: 'BRL', apiKeyId: keys.maker.id, approval: { firstPayoutToBeneficiary: true } },
      ]);
      expect(set.status).toBe(200);
      const first = await pay(keys.maker, { beneficiary: account('777000111') });
      expect([first.body.status, first.body.approval]).toEqual([
        'pending_approval',
        { required: 1, expiresAt: expect.any(String) },
      ]);
      // Still only asked for, not sent: the same account is still new.
      const meanwhile = await pay(keys.maker, { beneficiary: account('77700011-1') });
      expect(meanwhile.body.status).toBe('pending_approval');
      expect((await decide(keys.caio, first.body.id, 'approve')).status).toBe(200);
      // Known once a payout to it completed, not merely sent.
      await eventually(
        async () => (await http().get(`/v1/payouts/${first.body.id}`).set(adminKey())).body.status,
        (status) => status === 'completed',
        10_000,
      );
      const next = await pay(keys.maker, { beneficiary: account('777000111') });
      expect([next.status, next.body.approval]).toEqual([201, null]);
    });
  });
  describe('approvals and limits together', () => {
    afterAll(async () => expect((await putPolicies([])).status).toBe(200));

    it('an approval checks the limits again: a payout approved a day late cannot take the window over its cap', async () => {
      const set = await putPolicies([
        {
          currency: 'BRL',
          apiKeyId: keys.capped.id,
          rolling24h: { maxAmount: '100.00' },
          approval: { everyPayout: true },
        },
      ]);
      expect(set.status).toBe(200);
      await world.t.dataSource.query(`UPDATE payouts SET status = 'failed' WHERE created_by_key_id = $1`, [
        keys.capped.id,
      ]);
      const late = await pay(keys.capped, { amount: '90.00' });
      expect(late.body.status).toBe('pending_approval');
      // While it waits it holds its place: a second one does not fit.
      const second = await pay(keys.capped, { amount: '90.00' });
      expect([second.status, second.body.error.code]).toEqual([422, 'PAYOUT_LIMIT_ROLLING_AMOUNT']);
      // A day passes: it leaves the window, and another payout takes the room and is sent.
      await world.t.dataSource.query(`UPDATE payouts SET counted_at = now() - interval '25 hours' WHERE id = $1`, [
        late.body.id,
      ]);
      const other = await pay(keys.capped, { amount: '90.00' });
      expect(other.body.status).toBe('pending_approval');
      expect((await decide(keys.bea, other.body.id, 'approve')).status).toBe(200);
      // Approving the first now would make 180 in 24 h: refused like a create, and it keeps waiting.
      const refused = await decide(keys.caio, late.body.id, 'approve');
      expect([refused.status, refused.body.error.code, refused.body.error.details.headroom]).toEqual([
        422,
        'PAYOUT_LIMIT_ROLLING_AMOUNT',
        '10.00',
      ]);
      const still = await http().get(`/v1/payouts/${late.body.id}`).set(adminKey());
      expect(still.body.status).toBe('pending_approval');
      const [{ n }] = await world.t.dataSource.query(
        'SELECT count(*)::int AS n FROM payout_approvals WHERE payout_id = $1',
        [late.body.id],
      );
      expect(n).toBe(0); // the refused approval was rolled back with everything else
      expect((await ledgerIds()).has(late.body.id)).toBe(false);
    });

    it('a key without an owner cannot approve; owners are compared without case or spaces', async () => {
      const set = await putPolicies([{ currency: 'BRL', apiKeyId: keys.maker.id, approval: { everyPayout: true } }]);
      expect(set.status).toBe(200);
      const created = await pay(keys.maker);
      const ownerless = await http()
        .post('/v1/api-keys')
        .set(adminKey())
        .send({ name: 'ownerless', scopes: ['payouts:approve'] });
      expect([ownerless.status, ownerless.body.owner]).toEqual([201, null]);
      const refused = await decide({ key: ownerless.body.key }, created.body.id, 'approve');
      expect([refused.status, refused.body.error.code]).toEqual([403, 'APPROVER_WITHOUT_OWNER']);

      const shouting = await http()
        .post('/v1/api-keys')
        .set(adminKey())
        .send({ name: 'ana-again', owner: '  ANA@Acme.Example ', scopes: ['payouts:approve'] });
      expect([shouting.status, shouting.body.owner]).toEqual([201, 'ana@acme.example']);
      const own = await decide({ key: shouting.body.key }, created.body.id, 'approve');
      expect([own.status, own.body.error.code]).toEqual([403, 'APPROVER_IS_CREATOR']);
      const impersonating = await http()
        .post('/v1/api-keys')
        .set(adminKey())
        .send({ name: 'x', owner: `key:${keys.maker.id}`, scopes: ['payouts:approve'] });
      expect(impersonating.status).toBe(400);
    });
  });

  describe('GET /v1/audit', () => {
    it('lists who did what, newest first, filtered and paginated, and needs audit:read', async () => {
      const expiring = await (async () => {
        expect(
          (await putPolicies([{ currency: 'BRL', apiKeyId: keys.maker.id, approval: { everyPayout: true } }])).status,
        ).toBe(200);
        const created = await pay(keys.maker, { amount: '11.00' });
        await world.t.dataSource.query(
          `UPDATE payouts SET approval_expires_at = now() - interval '1 second' WHERE id = $1`,
          [created.body.id],
        );
        await world.t.app.get(PayoutReconciler).runOnce();
        return created.body.id as string;
      })();
      const rejectedPayout = await pay(keys.maker, { amount: '12.00' });
      expect((await decide(keys.bea, rejectedPayout.body.id, 'reject', 'wrong account')).status).toBe(200);
      expect((await putPolicies([])).status).toBe(200);

      const audit = (query: Record<string, string | number>) => http().get('/v1/audit').query(query).set(adminKey());
      const keysCreated = await audit({ action: 'api_key.created', limit: 100 });
      expect(keysCreated.status).toBe(200);
      expect(keysCreated.body.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            action: 'api_key.created',
            subjectType: 'api_key',
            subjectId: keys.bea.id,
            actor: { keyId: expect.any(String), principal: 'admin' },
            detail: expect.objectContaining({ owner: 'bea@acme.example', scopes: ['payouts:read', 'payouts:approve'] }),
          }),
        ]),
      );
      expect(JSON.stringify(keysCreated.body)).not.toContain(keys.bea.key);

      const onPayout = await audit({ subjectId: rejectedPayout.body.id });
      expect(onPayout.body.items).toEqual([
        expect.objectContaining({
          action: 'payout.rejected',
          actor: { keyId: keys.bea.id, principal: 'bea@acme.example' },
          detail: expect.objectContaining({ comment: 'wrong account' }),
        }),
      ]);
      const expired = await audit({ action: 'payout.approval_expired', subjectId: expiring });
      expect(expired.body.items).toEqual([
        expect.objectContaining({ actor: { keyId: null, principal: null }, subjectType: 'payout' }),
      ]);
      const byBea = await audit({ actor: 'bea@acme.example', limit: 100 });
      expect(new Set(byBea.body.items.map((item: { action: string }) => item.action))).toEqual(
        new Set(['payout.approved', 'payout.rejected']),
      );
      const policyChanges = await audit({ subjectType: 'payout_policies', limit: 2 });
      expect(policyChanges.body.items[0]).toMatchObject({
        action: 'payout_policies.replaced',
        detail: { after: [] },
      });
      // Pages never repeat or skip.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await audit({
          subjectType: 'payout_policies',
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.body.items.map((item) => item.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      const all = await audit({ subjectType: 'payout_policies', limit: 100 });
      expect(seen).toEqual(all.body.items.map((item: { id: string }) => item.id));
      expect(seen.length).toBeGreaterThan(4);

      expect((await http().get('/v1/audit').set(bearer(keys.bea.key))).status).toBe(403);
      // Append-only in the database itself, like the decisions.
      for (const table of ['audit_events', 'payout_approvals']) {
        for (const statement of [`UPDATE ${table} SET id = id`, `DELETE FROM ${table}`, `TRUNCATE ${table}`]) {
          await expect(world.t.dataSource.query(statement)).rejects.toThrow(`${table} is append-only`);
        }
      }

      const badCursor = await audit({ cursor: 'bm9wZQ' });
      expect([badCursor.status, badCursor.body.error.details[0].code]).toEqual([400, 'INVALID_CURSOR']);
    });
  });
});
