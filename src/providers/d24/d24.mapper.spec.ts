import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProviderError, type LatamBankBeneficiary, type ProviderErrorCode } from '../provider.port';
import {
  banksPath,
  cancelRequest,
  cashoutBody,
  D24_ERRORS,
  D24_REJECTIONS,
  D24_STATUSES,
  errorFromAnswer,
  readBanks,
  readCashoutCreated,
  readCashoutStatus,
  readNotification,
  setStatusRequest,
  statusRequest,
  toProviderError,
} from './d24.mapper';
import { caught, json } from '../../../test/support/provider-answers';

/**
 * Every cashout status D24 documents. Source: /work/shared/providers/d24-cashouts.md ("Statuses")
 * and D24's API Codes page, "Cashout Status Codes" (docs.d24.com/api-documentation/cashouts-api/api-codes).
 */
const DOCUMENTED_STATUSES: Array<[number, string, string]> = [
  [0, 'PENDING', 'pending'],
  [1, 'COMPLETED', 'completed'],
  [2, 'CANCELLED', 'cancelled'],
  [3, 'REJECTED', 'rejected'],
  [4, 'DELIVERED', 'processing'],
  [5, 'ON_HOLD', 'on_hold'],
];

/**
 * Every cashout error code D24 documents, with the domain code each one must become. Source:
 * D24's API Codes page, "Cashout Internal Error Codes" (docs.d24.com/api-documentation/cashouts-api/api-codes,
 * the same table on docs.directa24.com); the 16 marked * are also in /work/shared/providers/d24-cashouts.md.
 */
/**
 * The fourth column is the stable reason a caller branches on (null where the domain code says
 * it all): written here from what each D24 code means, not read from the table under test.
 */
const DOCUMENTED_ERRORS: Array<[number, string, ProviderErrorCode, string | null]> = [
  [300, 'Invalid params *', 'PAYOUT_REJECTED', 'INVALID_PARAMETERS'],
  [302, 'Invalid control string / signature *', 'PROVIDER_AUTH_FAILED', 'SIGNATURE_INVALID'],
  [303, 'Invalid bank code *', 'PAYOUT_REJECTED', 'BANK_CODE_UNKNOWN'],
  [401, 'Invalid credentials *', 'PROVIDER_AUTH_FAILED', 'CREDENTIALS_INVALID'],
  [402, 'Unregistered IP address *', 'PROVIDER_AUTH_FAILED', 'SOURCE_IP_NOT_ALLOWED'],
  [502, 'Invalid request body *', 'PAYOUT_REJECTED', 'BODY_UNREADABLE'],
  [503, 'Regulatory limits on the beneficiary account', 'PAYOUT_REJECTED', 'BENEFICIARY_REGULATORY_LIMIT'],
  [504, 'User unauthorized due to cadastral situation *', 'PAYOUT_REJECTED', 'BENEFICIARY_NOT_AUTHORISED'],
  [508, 'Limit exceeded *', 'PAYOUT_REJECTED', 'LIMIT_EXCEEDED'],
  [509, 'Cashout not found with this ID *', 'PAYOUT_NOT_FOUND', null],
  [510, 'Invalid status: cashout is not Pending *', 'INVALID_TRANSITION', null],
  [511, 'External ID already used *', 'PAYOUT_ALREADY_EXISTS', null],
  [514, 'Insufficient funds *', 'INSUFFICIENT_FUNDS', 'INSUFFICIENT_FUNDS'],
  [515, 'Invalid user status', 'PAYOUT_REJECTED', 'BENEFICIARY_BLOCKED'],
  [518, 'Country not available *', 'PAYOUT_REJECTED', 'COUNTRY_NOT_AVAILABLE'],
  [519, 'Merchant not enabled', 'PROVIDER_AUTH_FAILED', 'MERCHANT_NOT_ENABLED'],
  [524, 'Invalid Credentials. Contact integration', 'PROVIDER_AUTH_FAILED', 'CREDENTIALS_NOT_FOR_CASHOUTS'],
  [525, 'Close loop rejection', 'PAYOUT_REJECTED', 'CLOSED_LOOP_REJECTION'],
  [526, 'Invalid currency *', 'PAYOUT_REJECTED', 'CURRENCY_NOT_AVAILABLE'],
  [533, 'Invalid Amount: below the minimum *', 'PAYOUT_REJECTED', 'AMOUNT_BELOW_MINIMUM'],
  [537, 'Could not make the cashout', 'PAYOUT_REJECTED', 'CASHOUT_NOT_MADE'],
  [538, 'Invalid account status', 'PAYOUT_REJECTED', 'ACCOUNT_BLOCKED'],
  [539, 'Payout method unavailable', 'PAYOUT_REJECTED', 'PAYOUT_METHOD_UNAVAILABLE'],
  [540, 'Beneficiary email or phone is required', 'PAYOUT_REJECTED', 'BENEFICIARY_CONTACT_REQUIRED'],
  [541, 'email already used by another beneficiary', 'PAYOUT_REJECTED', 'EMAIL_IN_USE'],
  [542, 'phone already used by another beneficiary', 'PAYOUT_REJECTED', 'PHONE_IN_USE'],
  [543, 'must be a valid phone number', 'PAYOUT_REJECTED', 'PHONE_INVALID'],
  [702, 'Could not cancel cashout *', 'INVALID_TRANSITION', 'CANCEL_TOO_LATE'],
  [703, 'Could not make the cashout', 'PAYOUT_REJECTED', 'CASHOUT_NOT_MADE'],
];

const HTTP_STATUS_OF: Record<ProviderErrorCode, number> = {
  PAYOUT_REJECTED: 422,
  PROVIDER_AUTH_FAILED: 502,
  PAYOUT_NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  PAYOUT_ALREADY_EXISTS: 409,
  INSUFFICIENT_FUNDS: 422,
} as Record<ProviderErrorCode, number>;

describe('D24 status table', () => {
  it('has exactly the documented statuses', () => {
    expect(Object.keys(D24_STATUSES).map(Number).sort()).toEqual(DOCUMENTED_STATUSES.map(([code]) => code));
  });

  it.each(DOCUMENTED_STATUSES)(
    'status %i (%s) → %s, by status, cancel, hold and release answers',
    (code, name, state) => {
      for (const operation of ['status', 'cancel', 'hold', 'release'] as const) {
        expect(
          readCashoutStatus(json({ cashout_status: code, cashout_status_description: name }), '8405147', operation),
        ).toEqual({
          providerReference: '8405147',
          state,
          providerStatus: name,
          // A rejection always fails with a stable code, even when D24 gives no rejection_code.
          ...(state === 'rejected' ? { rejectionCode: 'BANK_REJECTED', rejectionReason: expect.any(String) } : {}),
        });
      }
    },
  );

  it('carries the bank rejection code and reason of a REJECTED cashout (800–826)', () => {
    expect(
      readCashoutStatus(
        json({ cashout_status: 3, rejection_code: 801, rejection_reason: 'ERROR_ACCOUNT_CLOSED' }),
        undefined,
        'status',
      ),
    ).toEqual({
      state: 'rejected',
      providerStatus: 'REJECTED',
      rejectionCode: 'ACCOUNT_CLOSED',
      rejectionReason:
        'The bank rejected it: the bank account is closed (D24 801 ERROR_ACCOUNT_CLOSED). Ask the beneficiary for an open account, then send a new payout.',
      providerRejectionCode: '801',
    });
    // Nulls are "not there", not a malformed answer.
    expect(
      readCashoutStatus(json({ cashout_status: 1, rejection_code: null, rejection_reason: null }), undefined, 'status'),
    ).toEqual({ state: 'completed', providerStatus: 'COMPLETED' });
    // A code left over on a status that is not REJECTED never turns a paid payout into a failure.
    expect(
      readCashoutStatus(
        json({ cashout_status: 1, rejection_code: 801, rejection_reason: 'ERROR_ACCOUNT_CLOSED' }),
        '1',
        'status',
      ),
    ).toEqual({ providerReference: '1', state: 'completed', providerStatus: 'COMPLETED' });
  });

  it.each([
    [800, 'ACCOUNT_INCORRECT'],
    [801, 'ACCOUNT_CLOSED'],
    [803, 'BANK_INVALID'],
    [807, 'REJECTED_BY_BANK'],
    [808, 'BANK_REJECTED_OTHER'],
    [809, 'PAYOUT_EXPIRED'],
    [810, 'BANK_LIMIT_EXCEEDED'],
    [811, 'RISK_POLICY'],
    [826, 'PAYOUT_REVERSED'],
  ])('bank rejection %i → %s, with D24 code and a next step', (code, stable) => {
    const payout = readCashoutStatus(json({ cashout_status: 3, rejection_code: code }), '1', 'status');
    expect(payout).toMatchObject({ rejectionCode: stable, providerRejectionCode: String(code) });
    expect(payout.rejectionReason).toMatch(new RegExp(`^The bank rejected it: .+ \\(D24 ${code} [A-Z_]+\\)\\. .+\\.$`));
  });

  it('an unlisted rejection code keeps D24 words, never a guess; a REJECTED without any code still fails stably', () => {
    expect(
      readCashoutStatus(
        json({ cashout_status: 3, rejection_code: '815', rejection_reason: 'ERROR_NEW_THING' }),
        '1',
        'status',
      ),
    ).toMatchObject({
      rejectionCode: 'BANK_REJECTED',
      rejectionReason:
        'The bank rejected it (D24 815 ERROR_NEW_THING). Contact D24 support with the payout id before paying again.',
      providerRejectionCode: '815',
    });
    const bare = readCashoutStatus(json({ cashout_status: 3 }), '1', 'status');
    expect(bare).toMatchObject({ rejectionCode: 'BANK_REJECTED' });
    expect(bare).not.toHaveProperty('providerRejectionCode');
  });

  it('an undocumented status is a protocol error, never a guess: unknown outcome after a write, not after a read', () => {
    const read = caught(() => readCashoutStatus(json({ cashout_status: 9 }), '1', 'status'));
    expect(read).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      httpStatus: 502,
      outcomeUnknown: false,
      retryable: false,
    });
    expect(read.message).toBe(
      'D24 answered status with a malformed body: cashout_status 9 is not a documented D24 status (0–5).',
    );
    for (const operation of ['cancel', 'hold', 'release'] as const) {
      expect(caught(() => readCashoutStatus(json({ cashout_status: -1 }), '1', operation))).toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        outcomeUnknown: true,
      });
    }
  });
});

describe('D24 error table', () => {
  it('has exactly the documented cashout error codes', () => {
    expect(
      Object.keys(D24_ERRORS)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(DOCUMENTED_ERRORS.map(([code]) => code));
  });

  it.each(DOCUMENTED_ERRORS)(
    'code %i (%s) → %s (reason %s), a definite refusal with D24 code and words kept',
    (code, description, domain, reason) => {
      expect(D24_ERRORS[code as keyof typeof D24_ERRORS]).toMatchObject({
        code: domain,
        retryable: false,
        outcomeUnknown: false,
      });
      const error = errorFromAnswer(400, json({ code, message: description, reason: 'because' }), 'create');
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({
        code: domain,
        providerCode: String(code),
        httpStatus: HTTP_STATUS_OF[domain],
        retryable: false,
        outcomeUnknown: false,
      });
      expect(error.message).toMatch(/^D24 /);
      expect(error.message).toContain(`(${code} ${description}: because)`);
      expect(error.reason).toBe(reason ?? undefined);
      // A stable reason always comes with a sentence saying what to change.
      if (reason) expect(error.message).toMatch(/\(\d{3} [^)]*\)\. [A-Z].+\.$/);
    },
  );

  it('README "Why a payout failed" lists every stable reason, with its D24 code', () => {
    const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    for (const [code, rule] of Object.entries(D24_ERRORS)) {
      if ('reason' in rule)
        expect(readme).toMatch(new RegExp(`\\| [^|\\n]*\\b${code}\\b[^|\\n]* \\| \`${rule.reason}\``));
    }
    for (const [code, rejection] of Object.entries(D24_REJECTIONS)) {
      expect(readme).toContain(`| bank ${code} | \`${rejection.code}\` |`);
    }
  });

  it('names what to fix in the sentence a caller sees', () => {
    expect(errorFromAnswer(400, json({ code: 303, message: 'Invalid bank code' }), 'create').message).toBe(
      "D24 does not know this bank code (303 Invalid bank code). Take bank_code from GET /v1/providers/d24/banks?country= for the beneficiary's country.",
    );
    expect(errorFromAnswer(401, json({ code: 402, message: 'Unregistered IP address' }), 'create').message).toContain(
      'the provider doctor shows it',
    );
  });

  it("keeps 504's reason_code (which KYC check failed) in the message", () => {
    const error = errorFromAnswer(
      400,
      json({ code: 504, message: 'User unauthorized due to cadastral situation', reason_code: 12 }),
      'create',
    );
    expect(error).toMatchObject({ code: 'PAYOUT_REJECTED', reason: 'BENEFICIARY_NOT_AUTHORISED', providerCode: '504' });
    expect(error.message).toContain('(504 User unauthorized due to cadastral situation reason_code 12)');
  });

  it('reads a code sent as a string the same as a number', () => {
    expect(toProviderError(412, { code: '509', message: 'Cashout not found' })).toMatchObject({
      code: 'PAYOUT_NOT_FOUND',
      providerCode: '509',
    });
  });

  it('an undocumented code is still a refusal, with D24 code', () => {
    expect(errorFromAnswer(400, json({ code: 999, message: 'Something new' }), 'create')).toMatchObject({
      code: 'PAYOUT_REJECTED',
      providerCode: '999',
      outcomeUnknown: false,
    });
    expect(errorFromAnswer(400, json({ code: 999 }), 'create').message).toBe(
      'D24 rejected the request (999 HTTP 400).',
    );
  });

  it('an error answer without a numeric code is malformed: after a write it may be a 511, so the outcome is unknown', () => {
    for (const body of [
      Buffer.from('<html>Bad Request</html>'),
      Buffer.alloc(0),
      json({ code: { nested: true }, message: 42 }),
      json({ code: 'x' }),
      json({ code: 5.5 }),
      json([1, 2]),
    ]) {
      for (const [operation, unknown] of [
        ['create', true],
        ['cancel', true],
        ['hold', true],
        ['release', true],
        ['status', false],
        ['banks', false],
      ] as const) {
        const error = errorFromAnswer(400, body, operation);
        expect(error).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', httpStatus: 502, outcomeUnknown: unknown });
        expect(error.message).toBe(
          `D24 answered ${operation} with a malformed body: the HTTP 400 error answer has no numeric code.`,
        );
      }
    }
  });
});

describe('D24 answers that do not have the documented shape → PROVIDER_PROTOCOL_ERROR', () => {
  it.each<[string, Buffer, string]>([
    ['not JSON', Buffer.from('{"cashout_id": "84'), 'the body is not JSON'],
    ['empty', Buffer.alloc(0), 'the body is empty'],
    ['no cashout_id', json({ id: '8405147' }), 'cashout_id is missing'],
    [
      'cashout_id an object',
      json({ cashout_id: { value: 'x' } }),
      'cashout_id does not have the documented type or format',
    ],
    ['cashout_id not digits', json({ cashout_id: 'abc' }), 'cashout_id has the wrong format (a cashout id of digits)'],
    ['an array', json([{ cashout_id: '1' }]), 'the body should be an object, not an array'],
  ])('create answered %s: outcome unknown (D24 may have the cashout), field named', (_case, body, problem) => {
    const error = caught(() => readCashoutCreated(body));
    expect(error).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      httpStatus: 502,
      outcomeUnknown: true,
      retryable: false,
    });
    expect(error.message).toBe(`D24 answered create with a malformed body: ${problem}.`);
  });

  it('a well-formed create answer, id as a string or a number', () => {
    expect(readCashoutCreated(json({ cashout_id: '8405147' }))).toEqual({
      providerReference: '8405147',
      state: 'pending',
      providerStatus: 'PENDING',
    });
    expect(readCashoutCreated(json({ cashout_id: 8405147 }))).toEqual({
      providerReference: '8405147',
      state: 'pending',
      providerStatus: 'PENDING',
    });
  });

  it.each<[string, unknown, string]>([
    ['status as text', { cashout_status: 'COMPLETED' }, 'cashout_status should be a number, not a string'],
    ['no status', { cashout_status_description: 'Completed' }, 'cashout_status is missing'],
    ['a fractional status', { cashout_status: 1.5 }, 'cashout_status should be an integer, not a float'],
    [
      'a reason that is not text',
      { cashout_status: 3, rejection_reason: 800 },
      'rejection_reason should be a string, not a number',
    ],
  ])('status answered %s: a read, so the outcome is known', (_case, body, problem) => {
    const error = caught(() => readCashoutStatus(json(body), '1', 'status'));
    expect(error).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', outcomeUnknown: false });
    expect(error.message).toBe(`D24 answered status with a malformed body: ${problem}.`);
  });

  it('never echoes the body or a value from it', () => {
    const secret = 'pass-9f8e7d6c5b4a';
    for (const run of [
      () => readCashoutCreated(json({ cashout_id: { pass: secret } })),
      () => readCashoutCreated(json({ cashout_id: secret })),
      () => readCashoutStatus(json({ cashout_status: secret }), '1', 'cancel'),
      () => readCashoutCreated(Buffer.from(`{"pass":"${secret}"`)),
    ]) {
      expect(caught(run).message).not.toContain(secret);
    }
  });

  it('banks: a list of {code, name}; anything else is a protocol error of a read', () => {
    expect(readBanks(json([{ code: 12, name: 'BBVA México', extra: true }]))).toEqual([
      { code: 12, name: 'BBVA México' },
    ]);
    const error = caught(() => readBanks(json([{ code: '12', name: 'BBVA México' }])));
    expect(error).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', outcomeUnknown: false });
    expect(error.message).toBe('D24 answered banks with a malformed body: [0].code should be a number, not a string.');
  });
});

describe('D24 requests', () => {
  it('writes the create body byte for byte, amount as a JSON number from the decimal string, unset fields left out', () => {
    const body = cashoutBody('key', 'phrase', {
      externalId: 'po-1',
      amount: { amount: '150.75', currency: 'BRL' },
      beneficiary: {
        type: 'latam_bank_account',
        country: 'BR',
        name: 'José',
        documentId: '84932568207',
        documentType: 'CPF',
        bankCode: 341,
        bankAccount: '123',
      },
      notificationUrl: 'https://example.com/n',
      reference: 'invoice 1',
    });
    expect(body).toBe(
      '{"login":"key","pass":"phrase","external_id":"po-1","country":"BR","currency":"BRL","amount":150.75,"document_id":"84932568207","document_type":"CPF",' +
        '"beneficiary_name":"José","bank_code":341,"bank_account":"123","notification_url":"https://example.com/n","comments":"invoice 1","type":"json"}',
    );
  });

  it('sends numbers bare (D24 wants digits) and the inferred document type where D24 requires one', () => {
    const body = (beneficiary: Record<string, unknown>) =>
      JSON.parse(
        cashoutBody('key', 'phrase', {
          externalId: 'po-3',
          amount: { amount: '10.00', currency: 'BRL' },
          beneficiary: { type: 'latam_bank_account', name: 'Ana', ...beneficiary } as LatamBankBeneficiary,
        }),
      ) as Record<string, unknown>;
    expect(
      body({ country: 'BR', documentId: '849.325.682-07', bankAccount: '12345678-x', bankBranch: '0001-5' }),
    ).toMatchObject({ document_id: '84932568207', bank_account: '12345678X', bank_branch: '00015' });
    expect(body({ country: 'BR', documentId: '84932568207' }).document_type).toBeUndefined();
    expect(body({ country: 'CO', documentId: '1.020.304.050' })).toMatchObject({
      document_id: '1020304050',
      document_type: 'CC',
    });
    expect(body({ country: 'PE', documentId: '20100070970' }).document_type).toBe('RUC');
  });

  it('asks for on_hold at creation only when the payout is to be created held', () => {
    const instruction = {
      externalId: 'po-2',
      amount: { amount: '1.00', currency: 'BRL' },
      beneficiary: { type: 'latam_bank_account' as const, country: 'BR', name: 'A', documentId: '84932568207' },
    };
    expect(cashoutBody('k', 'p', { ...instruction, onHold: true })).toContain(',"on_hold":true,"type":"json"}');
    expect(cashoutBody('k', 'p', instruction)).not.toContain('on_hold');
  });

  it('refuses a beneficiary D24 cannot pay and an amount with more than 2 decimals, before anything is sent', () => {
    expect(
      caught(() =>
        cashoutBody('k', 'p', {
          externalId: 'e',
          amount: { amount: '1.00', currency: 'EUR' },
          beneficiary: { type: 'iban', name: 'A', iban: 'DE89370400440532013000' },
        }),
      ),
    ).toMatchObject({ code: 'PAYOUT_REJECTED' });
    expect(
      caught(() =>
        cashoutBody('k', 'p', {
          externalId: 'e',
          amount: { amount: '1.005', currency: 'BRL' },
          beneficiary: { type: 'latam_bank_account', country: 'BR', name: 'A', documentId: '1' },
        }),
      ),
    ).toMatchObject({ code: 'PAYOUT_REJECTED' });
  });

  it('looks a cashout up by D24 id when known, by our id otherwise; cancels with both; holds by id', () => {
    expect(statusRequest({ externalId: 'po-1', providerReference: '8405147' })).toEqual({ cashout_id: 8405147 });
    expect(statusRequest({ externalId: 'po-1' })).toEqual({ external_id: 'po-1' });
    expect(JSON.stringify(cancelRequest({ externalId: 'po-1', providerReference: '8405147' }))).toBe(
      '{"cashout_id":8405147,"external_id":"po-1"}',
    );
    expect(JSON.stringify(cancelRequest({ externalId: 'po-1' }))).toBe('{"external_id":"po-1"}');
    expect(JSON.stringify(setStatusRequest('8405147', 'ON_HOLD'))).toBe('{"cashout_id":8405147,"status":"ON_HOLD"}');
    expect(banksPath('MX')).toBe('/v3/banks?country=MX');
    expect(banksPath('M&X')).toBe('/v3/banks?country=M%26X');
  });

  it('reads the signed fields of a notification, and nothing without them', () => {
    expect(readNotification(Buffer.from('external_id=po-1&cashout_id=7&control=ABC&date=2026-11-24'))).toEqual({
      external_id: 'po-1',
      control: 'ABC',
    });
    expect(readNotification(Buffer.from('cashout_id=7&control=ABC'))).toBeNull();
    expect(readNotification(Buffer.from('external_id=po-1'))).toBeNull();
  });
});
