import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * A D24 beneficiary's document and account number are checked for their country before anything
 * is stored or sent: a mistyped CPF is a 400 naming the field and the rule, not a rejected cashout.
 */
describe('beneficiary documents and account numbers are checked before a payout is stored', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** What D24's country rules require besides the numbers under test (d24.country-rules.ts). */
  const COMPLETE: Record<string, Record<string, unknown>> = {
    BR: { bankCode: 1, bankAccount: '123456789', bankBranch: '0001', accountType: 'C' },
    MX: { lastName: 'Müller' },
    AR: { lastName: 'Müller', bankAccount: '2850590940090418135201' },
  };
  const payout = (beneficiary: Record<string, unknown>, currency = 'BRL') =>
    t.http
      .post('/v1/payouts')
      .set(bearer(t.adminKey))
      .set('Idempotency-Key', randomUUID())
      .send({
        provider: 'd24',
        environment: 'simulator',
        amount: '10.00',
        currency,
        beneficiary: {
          type: 'latam_bank_account',
          name: 'José',
          ...COMPLETE[String(beneficiary.country)],
          ...beneficiary,
        },
      });

  it('refuses a CPF with a wrong check digit, naming the field, the rule and what is wrong; nothing is stored', async () => {
    const answer = await payout({ country: 'BR', documentType: 'CPF', documentId: '849.325.682-08' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(answer.body.error.details).toEqual([
      {
        field: 'beneficiary.documentId',
        code: 'INVALID_DOCUMENT',
        message: 'is not a valid CPF: the check digit does not match (a digit is probably mistyped)',
      },
    ]);
    const rows = await t.dataSource.query('SELECT count(*)::int AS n FROM payouts');
    expect(rows[0].n).toBe(0);
  });

  it('refuses a document type the country does not use, listing the ones it does', async () => {
    const answer = await payout({ country: 'AR', documentType: 'CPF', documentId: '20-05536168-2' }, 'ARS');
    expect(answer.body.error.details[0]).toMatchObject({
      field: 'beneficiary.documentId',
      message: 'is not a document type used in AR: use CUIT, CUIL, DNI, PASS',
    });
  });

  it('refuses a Mexican CLABE with a wrong check digit', async () => {
    const answer = await payout(
      { country: 'MX', documentType: 'CURP', documentId: 'BOXW310820HNERXN09', bankAccount: '002010077777777779' },
      'MXN',
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      expect.objectContaining({ field: 'beneficiary.bankAccount', code: 'INVALID_BANK_ACCOUNT' }),
    ]);
  });

  it('Mexico: refuses a debit card number as the account, saying to send the CLABE', async () => {
    const mexican = { country: 'MX', documentType: 'CURP', documentId: 'BOXW310820HNERXN09' };
    const card = await payout({ ...mexican, bankAccount: '4152313800000007' }, 'MXN');
    expect(card.status).toBe(400);
    expect(card.body.error.details).toEqual([
      {
        field: 'beneficiary.bankAccount',
        code: 'INVALID_BANK_ACCOUNT',
        message:
          'is a debit card number: send the beneficiary’s 18-digit CLABE instead (card numbers are card data this service does not store)',
      },
    ]);
    expect(JSON.stringify(card.body)).not.toContain('4152313800000007');
  });

  it('Brazil: refuses an agência that is not 4 digits and a check digit', async () => {
    const answer = await payout({
      country: 'BR',
      documentType: 'CPF',
      documentId: '84932568207',
      bankBranch: '12345-6',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      expect.objectContaining({ field: 'beneficiary.bankBranch', code: 'INVALID_BANK_BRANCH' }),
    ]);
    const rows = await t.dataSource.query('SELECT count(*)::int AS n FROM payouts');
    expect(rows[0].n).toBe(0);
  });

  it('refuses a card number (PAN) where a card token belongs, so it is never stored or logged', async () => {
    const answer = await t.http
      .post('/v1/payouts')
      .set(bearer(t.adminKey))
      .set('Idempotency-Key', randomUUID())
      .send({
        provider: 'verestro',
        environment: 'simulator',
        amount: '10.00',
        currency: 'EUR',
        beneficiary: { type: 'card', cardToken: '4111111111111111' },
      });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      {
        field: 'beneficiary.cardToken',
        code: 'PAN_NOT_ALLOWED',
        message: 'looks like a card number (PAN); send the token Verestro issued for the card instead',
      },
    ]);
    expect(answer.text).not.toContain('4111111111111111');
    expect(t.logs.text).not.toContain('4111111111111111');
  });

  it('D24 country rules: what the country requires, the bank’s account format, PIX keys and currencies, before anything is stored', async () => {
    const noBranch = await payout({ country: 'BR', documentId: '84932568207', bankBranch: undefined });
    expect([noBranch.status, noBranch.body.error.details]).toEqual([
      400,
      [
        {
          field: 'beneficiary.bankBranch',
          code: 'REQUIRED_FOR_COUNTRY',
          message: 'is required for a bank account payout to BR: send the branch (agência)',
        },
      ],
    ]);
    const itau = await payout({ country: 'BR', documentId: '84932568207', bankCode: 341, bankAccount: '123456789' });
    expect(itau.body.error.details).toEqual([
      {
        field: 'beneficiary.bankAccount',
        code: 'INVALID_BANK_ACCOUNT',
        message: 'must be up to 6 digits and a check digit at bank 341',
      },
    ]);
    const inPesos = await payout({ country: 'BR', documentId: '84932568207' }, 'MXN');
    expect(inPesos.body.error.details).toEqual([
      {
        field: 'currency',
        code: 'CURRENCY_NOT_SERVED',
        message: 'must be BRL or USD: D24 pays out in BR in these only',
      },
    ]);
    const pix = { country: 'BR', documentId: '84932568207', bankAccount: undefined, bankBranch: undefined };
    const pixWithoutPhone = await payout({ ...pix, bankCode: 10000 });
    expect(pixWithoutPhone.body.error.details).toEqual([
      expect.objectContaining({ field: 'beneficiary.phone', code: 'REQUIRED_FOR_COUNTRY' }),
    ]);
    // Right: past every rule, to the provider check (no credentials here).
    expect((await payout({ ...pix, bankCode: 10000, phone: '+5511987654321' })).status).toBe(409);
    const rows = await t.dataSource.query('SELECT count(*)::int AS n FROM payouts');
    expect(rows[0].n).toBe(0);
  });

  it('D24 country rules apply to a stored beneficiary paid in a currency the country does not take', async () => {
    const stored = await t.http
      .post('/v1/beneficiaries')
      .set(bearer(t.adminKey))
      .send({
        beneficiary: {
          type: 'latam_bank_account',
          name: 'José',
          country: 'BR',
          documentId: '84932568207',
          ...COMPLETE.BR,
        },
      });
    expect(stored.status).toBe(201);
    const answer = await t.http.post('/v1/payouts').set(bearer(t.adminKey)).set('Idempotency-Key', randomUUID()).send({
      provider: 'd24',
      environment: 'simulator',
      amount: '10.00',
      currency: 'COP',
      beneficiaryId: stored.body.id,
    });
    expect([answer.status, answer.body.error.details]).toEqual([
      400,
      [
        {
          field: 'currency',
          code: 'CURRENCY_NOT_SERVED',
          message: 'must be BRL or USD: D24 pays out in BR in these only',
        },
      ],
    ]);
  });

  it('lets right numbers through to the provider check (here: no credentials, so 409 and still nothing stored)', async () => {
    const answer = await payout(
      { country: 'MX', documentType: 'CURP', documentId: 'BOXW310820HNERXN09', bankAccount: '002010077777777771' },
      'MXN',
    );
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('CREDENTIAL_MISSING');
  });
});
