import { randomUUID } from 'node:crypto';
import {
  createPaymentsClient,
  fieldProblems,
  FINAL_PAYOUT_STATUSES,
  type CreatePayout,
  type Payout,
  type PaymentsClient,
} from '../../clients/typescript';
import { contractCheckedFetch } from '../support/contract';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { eventually } from '../support/sim-client';

/**
 * The committed TypeScript client (clients/typescript) against the running service and the three
 * simulators, as a frontend would use it; every answer it gets is also checked against openapi.json.
 */
describe('the typed client (clients/typescript) drives a payout on each rail to its final state', () => {
  let world: ProviderWorld;
  let api: PaymentsClient;

  beforeAll(async () => {
    world = await startProviderWorld({}, 23, { connectPayAuthorization: 'complete' });
    api = createPaymentsClient({ baseUrl: world.baseUrl, apiKey: world.t.adminKey, fetch: contractCheckedFetch });
  });
  afterAll(() => world.close());

  const rails: Array<[string, CreatePayout]> = [
    [
      'D24 (latam_bank_account)',
      {
        provider: 'd24',
        environment: 'simulator',
        amount: '150.75',
        currency: 'BRL',
        beneficiary: {
          type: 'latam_bank_account',
          country: 'BR',
          name: 'José',
          lastName: 'Müller',
          documentId: '84932568207',
          documentType: 'CPF',
          bankCode: 1,
          bankAccount: '123456789',
          bankBranch: '0001',
          accountType: 'C',
        },
      },
    ],
    [
      'ConnectPay (iban)',
      {
        provider: 'connectpay',
        environment: 'simulator',
        amount: '25.00',
        currency: 'EUR',
        beneficiary: { type: 'iban', name: 'Erika Mustermann', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
      },
    ],
    [
      'Verestro (card)',
      {
        provider: 'verestro',
        environment: 'simulator',
        amount: '19.99',
        currency: 'EUR',
        beneficiary: { type: 'card', cardToken: 'tok_visa_4242' },
      },
    ],
  ];

  it.each(rails)('%s: created, then completed', async (_rail, body) => {
    const created = await api.POST('/v1/payouts', { params: { header: { 'Idempotency-Key': randomUUID() } }, body });
    expect(created.error).toBeUndefined();
    const id = created.data?.id ?? '';
    expect(created.data?.beneficiary.type).toBe(body.beneficiary?.type);

    const final: Payout = await eventually(
      async () => {
        const { data } = await api.GET('/v1/payouts/{id}', { params: { path: { id } } });
        if (!data) throw new Error('no payout');
        return data;
      },
      (payout) => FINAL_PAYOUT_STATUSES.includes(payout.status),
    );
    expect(final).toMatchObject({ id, status: 'completed', failure: null });

    const events = await api.GET('/v1/payouts/{id}/events', { params: { path: { id } } });
    expect(events.data?.map((event) => event.toStatus)).toContain('completed');
  });

  it('gets typed errors: field problems of a VALIDATION_FAILED, and a code to branch on', async () => {
    const refused = await api.POST('/v1/payouts', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { ...rails[0][1], amount: '1.234' },
    });
    expect(refused.response.status).toBe(400);
    expect(refused.error?.error.code).toBe('VALIDATION_FAILED');
    expect(refused.error && fieldProblems(refused.error).map((problem) => problem.field)).toEqual(['amount']);

    const missing = await api.GET('/v1/payouts/{id}', { params: { path: { id: randomUUID() } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('NOT_FOUND');
  });

  it('reads accounts with typed capabilities', async () => {
    const { data } = await api.GET('/v1/accounts');
    expect(data?.length).toBeGreaterThan(0);
    for (const account of data ?? []) expect(typeof account.capabilities.payouts.create).toBe('boolean');
  });
});
