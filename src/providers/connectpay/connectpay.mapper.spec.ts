import type { PayoutInstruction } from '../provider.port';
import {
  chooseRail,
  debtorAccount,
  CONNECTPAY_DIRECTIONS,
  CONNECTPAY_ERRORS,
  CONNECTPAY_STATUSES,
  CONNECTPAY_TOKEN_ERRORS,
  CONNECTPAY_UNKNOWN_STATUS_STATE,
  errorFromAnswer,
  ibanBeneficiary,
  initiatePaymentRequest,
  paymentRailsRequest,
  readAccounts,
  readDuplicatePayment,
  readMerchantPayment,
  readPaymentInitiated,
  readPaymentRails,
  readPaymentStatus,
  readTokenAnswer,
  readTransactions,
  readWebhookBody,
  tokenErrorFromAnswer,
  transactionsQuery,
  webhookNotice,
} from './connectpay.mapper';
import { caught, json } from '../../../test/support/provider-answers';

/** ISO 20022 statuses the integration knows (connectpay.md, "Outgoing payment"; only RCVD is public). */
const STATUSES: Array<[string, string]> = [
  ['RCVD', 'pending'],
  ['ACTC', 'processing'],
  ['ACSP', 'processing'],
  ['ACSC', 'completed'],
  ['ACCC', 'completed'],
  ['PDNG', 'on_hold'],
  ['RJCT', 'rejected'],
  ['CANC', 'cancelled'],
];

describe('ConnectPay status table', () => {
  it('has exactly the known statuses', () => {
    expect(Object.keys(CONNECTPAY_STATUSES).sort()).toEqual(STATUSES.map(([status]) => status).sort());
  });

  it.each(STATUSES)('%s → %s', (status, state) => {
    expect(readPaymentStatus(json({ paymentOrderNo: 's-1', transactionStatus: status }), 's-1')).toEqual({
      providerReference: 's-1',
      state,
      providerStatus: status,
    });
  });

  it('an unknown ISO 20022 status is still processing (never final), its own text kept', () => {
    expect(CONNECTPAY_UNKNOWN_STATUS_STATE).toBe('processing');
    expect(readPaymentStatus(json({ transactionStatus: 'ACWC' }), 's-1')).toEqual({
      providerReference: 's-1',
      state: 'processing',
      providerStatus: 'ACWC',
    });
    // Not an own property of the table, even though every object has one by that name.
    expect(readPaymentStatus(json({ transactionStatus: 'constructor' }), 's-1').state).toBe('processing');
  });
});

describe('ConnectPay error table', () => {
  it('decides by HTTP status 401, 403, 404, then by error code, then refuses', () => {
    expect(Object.keys(CONNECTPAY_ERRORS.byStatus)).toEqual(['401', '403', '404']);
  });

  it.each<[number, string | undefined, string]>([
    [401, 'invalid_token', 'PROVIDER_AUTH_FAILED'],
    [403, 'CERTIFICATE_NOT_REGISTERED', 'PROVIDER_AUTH_FAILED'],
    [404, 'PAYMENT_NOT_FOUND', 'PAYOUT_NOT_FOUND'],
  ])('HTTP %i (%s) → %s, whatever the body says', (status, error, code) => {
    expect(CONNECTPAY_ERRORS.byStatus[status as 401 | 403 | 404].code).toBe(code);
    expect(errorFromAnswer(status, json({ error, message: 'm' }))).toMatchObject({
      code,
      providerCode: error,
      retryable: false,
      outcomeUnknown: false,
    });
    // The status decides even when the body names a code of the other table.
    expect(errorFromAnswer(status, json({ error: 'INSUFFICIENT_FUNDS' }))).toMatchObject({ code });
  });

  it('error INSUFFICIENT_FUNDS → INSUFFICIENT_FUNDS', () => {
    expect(Object.keys(CONNECTPAY_ERRORS.byCode)).toEqual(['INSUFFICIENT_FUNDS']);
    const error = errorFromAnswer(
      422,
      json({ error: 'INSUFFICIENT_FUNDS', message: 'The debtor account balance does not cover the amount and fees.' }),
    );
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      httpStatus: 422,
      providerCode: 'INSUFFICIENT_FUNDS',
      retryable: false,
      outcomeUnknown: false,
    });
    expect(error.message).toBe(
      'ConnectPay says the debtor account does not cover it (INSUFFICIENT_FUNDS: The debtor account balance does not cover the amount and fees.).',
    );
  });

  it('anything else is a refusal of the request, with ConnectPay code and words, or its HTTP status', () => {
    expect(CONNECTPAY_ERRORS.otherwise.code).toBe('PAYOUT_REJECTED');
    const error = errorFromAnswer(
      400,
      json({ error: 'VALIDATION_ERROR', message: 'Invalid or missing: creditorName.' }),
    );
    expect(error).toMatchObject({ code: 'PAYOUT_REJECTED', providerCode: 'VALIDATION_ERROR', outcomeUnknown: false });
    expect(error.message).toBe(
      'ConnectPay rejected the request (VALIDATION_ERROR: Invalid or missing: creditorName.).',
    );
    expect(errorFromAnswer(400, json({ error: 'invalid_grant', error_description: 'Unknown code.' })).message).toBe(
      'ConnectPay rejected the request (invalid_grant: Unknown code.).',
    );
    for (const body of [Buffer.from('<html/>'), Buffer.alloc(0), json({ error: 7 })]) {
      expect(errorFromAnswer(429, body)).toMatchObject({
        code: 'PAYOUT_REJECTED',
        providerCode: '429',
        message: 'ConnectPay rejected the request (429).',
      });
    }
  });
});

describe('ConnectPay OAuth token answers', () => {
  const token = {
    token_type: 'Bearer',
    access_token: 'at',
    refresh_token: 'rt',
    expires_in: 3600,
    scope: 'ob-ps:authz-nosca ob-ps ob-as',
    refresh_token_expires_in: '2592000',
  };

  it('reads the documented answer (refresh_token_expires_in as a string or a number)', () => {
    expect(readTokenAnswer(json(token))).toEqual(token);
    expect(readTokenAnswer(json({ ...token, refresh_token_expires_in: 2592000 })).refresh_token_expires_in).toBe(
      2592000,
    );
  });

  it('a malformed token answer is a protocol error that leaves no payout unknown (nothing was sent yet), never echoing a token', () => {
    const error = caught(() => readTokenAnswer(json({ ...token, access_token: undefined, expires_in: '3600' })));
    expect(error).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: false,
      message: 'ConnectPay answered oauth-token with a malformed body: access_token is missing.',
    });
    expect(caught(() => readTokenAnswer(json({ ...token, refresh_token_expires_in: 'soon' }))).message).not.toContain(
      'rt',
    );
  });

  it.each<[number, string | undefined, string, string]>([
    [
      401,
      'invalid_client',
      'PROVIDER_AUTH_FAILED',
      'ConnectPay refused the DevApp client credentials (ClientKey/ClientSecret).',
    ],
    [
      400,
      'invalid_grant',
      'OAUTH_AUTHORIZATION_REQUIRED',
      'ConnectPay refused the authorization: generate a new auth code in Online Banking and authorize again (invalid_grant: Unknown code.).',
    ],
    [
      400,
      'unsupported_grant_type',
      'PROVIDER_AUTH_FAILED',
      'ConnectPay refused the token request (unsupported_grant_type: Unknown code.).',
    ],
  ])('token error HTTP %i %s → %s', (status, error, code, message) => {
    expect(tokenErrorFromAnswer(status, json({ error, error_description: 'Unknown code.' }))).toMatchObject({
      code,
      message,
      providerCode: error,
      retryable: false,
      outcomeUnknown: false,
    });
  });

  it('the token error table has exactly those rows', () => {
    expect(Object.keys(CONNECTPAY_TOKEN_ERRORS.byStatus)).toEqual(['401']);
    expect(Object.keys(CONNECTPAY_TOKEN_ERRORS.byCode)).toEqual(['invalid_grant']);
    const { byStatus, byCode, otherwise } = CONNECTPAY_TOKEN_ERRORS;
    expect([byStatus[401].code, byCode.invalid_grant.code, otherwise.code]).toEqual([
      'PROVIDER_AUTH_FAILED',
      'OAUTH_AUTHORIZATION_REQUIRED',
      'PROVIDER_AUTH_FAILED',
    ]);
  });
});

describe('ConnectPay answers that do not have the documented shape → PROVIDER_PROTOCOL_ERROR', () => {
  it('initiate (a write): outcome unknown, the payment may exist', () => {
    for (const [body, problem] of [
      [Buffer.from('{"paymentOrderNo":'), 'the body is not JSON'],
      [json({ transactionStatus: 'RCVD' }), 'paymentOrderNo is missing'],
      [
        json({ paymentOrderNo: 's-1', transactionFees: { amount: 5, currency: 'EUR' } }),
        'transactionFees.amount should be a string, not a number',
      ],
    ] as const) {
      const error = caught(() => readPaymentInitiated(body));
      expect(error).toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        httpStatus: 502,
        outcomeUnknown: true,
        retryable: false,
      });
      expect(error.message).toBe(`ConnectPay answered initiatePayment with a malformed body: ${problem}.`);
    }
    expect(caught(() => readDuplicatePayment(json({ error: 'DUPLICATE_EXTERNAL_REFERENCE' })))).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: true,
      message: 'ConnectPay answered initiatePayment with a malformed body: paymentOrderNo is missing.',
    });
    expect(caught(() => readMerchantPayment(json({ status: 'CREATED' })))).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: true,
      message: 'ConnectPay answered merchantCreatePayment with a malformed body: paymentId is missing.',
    });
  });

  it('reads: the outcome is known', () => {
    const status = caught(() => readPaymentStatus(json({ transactionStatus: 42 }), 's-1'));
    expect(status).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', outcomeUnknown: false });
    expect(status.message).toBe(
      'ConnectPay answered paymentStatus with a malformed body: transactionStatus should be a string, not a number.',
    );
    expect(caught(() => readPaymentStatus(json({ transactionStatus: '' }), 's-1'))).toMatchObject({
      outcomeUnknown: false,
      message: 'ConnectPay answered paymentStatus with a malformed body: transactionStatus is empty or too short.',
    });
    expect(caught(() => readPaymentRails(json({ paymentRails: 'SEPA_SCT' })))).toMatchObject({
      outcomeUnknown: false,
      message: 'ConnectPay answered paymentRails with a malformed body: paymentRails should be an array, not a string.',
    });
    expect(
      caught(() =>
        readAccounts(
          json({
            accounts: [
              { accountId: 'a', name: 'Main', currency: 'EUR', balances: [{ amount: 100.5, currency: 'EUR' }] },
            ],
          }),
        ),
      ),
    ).toMatchObject({
      message:
        'ConnectPay answered accounts with a malformed body: accounts[0].balances[0].amount should be a string, not a number.',
    });
    expect(
      caught(() =>
        readTransactions(
          json({
            transactions: [
              {
                transactionId: 't',
                bookingDate: '2026-01-01',
                amount: '1.00',
                currency: 'EUR',
                creditDebitIndicator: 'CREDIT',
              },
            ],
          }),
        ),
      ),
    ).toMatchObject({
      message:
        'ConnectPay answered transactions with a malformed body: transactions[0].creditDebitIndicator has an undocumented value.',
    });
  });

  it('never echoes the body or a value from it', () => {
    const secret = 'tok-5f4e3d2c1b0a';
    for (const run of [
      () => readPaymentInitiated(json({ paymentOrderNo: { token: secret } })),
      () => readTransactions(json({ transactions: [{ creditDebitIndicator: secret }] })),
    ]) {
      expect(caught(run).message).not.toContain(secret);
    }
  });
});

describe('ConnectPay answers → domain', () => {
  it('accounts with their first balance, decimal strings kept', () => {
    expect(
      readAccounts(
        json({
          accounts: [
            {
              accountId: 'acc-1',
              iban: 'LT12',
              name: 'Main',
              currency: 'EUR',
              balances: [{ balanceType: 'AVAILABLE', amount: '1000.10', currency: 'EUR' }],
            },
            { accountId: 'acc-2', name: 'No IBAN', currency: 'USD' },
          ],
        }),
      ),
    ).toEqual([
      { id: 'acc-1', name: 'Main', iban: 'LT12', currency: 'EUR', balance: { amount: '1000.10', currency: 'EUR' } },
      { id: 'acc-2', name: 'No IBAN', currency: 'USD' },
    ]);
  });

  it('transactions, with every credit/debit indicator', () => {
    expect(CONNECTPAY_DIRECTIONS).toEqual({ CRDT: 'credit', DBIT: 'debit' });
    const base = { bookingDate: '2026-11-24T06:00:00Z', amount: '5.00', currency: 'EUR' };
    expect(
      readTransactions(
        json({
          transactions: [
            {
              ...base,
              transactionId: 't1',
              creditDebitIndicator: 'CRDT',
              remittanceInformation: 'in',
              counterpartyIban: 'DE89',
            },
            { ...base, transactionId: 't2', creditDebitIndicator: 'DBIT' },
          ],
        }),
      ),
    ).toEqual([
      {
        id: 't1',
        bookedAt: base.bookingDate,
        amount: { amount: '5.00', currency: 'EUR' },
        direction: 'credit',
        description: 'in',
        counterpartyIban: 'DE89',
      },
      {
        id: 't2',
        bookedAt: base.bookingDate,
        amount: { amount: '5.00', currency: 'EUR' },
        direction: 'debit',
        description: '',
      },
    ]);
  });

  it('an initiated payment with and without fees; a 409 names the existing payment', () => {
    expect(
      readPaymentInitiated(
        json({
          paymentOrderNo: 's-630',
          paymentRail: 'SEPA_SCT',
          transactionStatus: 'RCVD',
          transactionFees: { amount: '5.00', currency: 'EUR' },
        }),
      ),
    ).toEqual({ paymentOrderNo: 's-630', fees: { amount: '5.00', currency: 'EUR' } });
    expect(readPaymentInitiated(json({ paymentOrderNo: 's-631' }))).toEqual({ paymentOrderNo: 's-631' });
    expect(readDuplicatePayment(json({ error: 'DUPLICATE_EXTERNAL_REFERENCE', paymentOrderNo: 's-630' }))).toBe(
      's-630',
    );
  });
});

describe('ConnectPay requests', () => {
  const instruction: PayoutInstruction = {
    externalId: 'po-1',
    amount: { amount: '42.10', currency: 'EUR' },
    beneficiary: {
      type: 'iban',
      name: 'Erika',
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      address: { line1: 'Str 1', city: 'Berlin', country: 'DE' },
    },
  };

  it('builds the rails and initiate bodies byte for byte', () => {
    const beneficiary = ibanBeneficiary(instruction);
    expect(JSON.stringify(paymentRailsRequest('LT12', beneficiary, { amount: '42.10', currency: 'EUR' }))).toBe(
      '{"debtorAccount":{"iban":"LT12"},"creditorAccount":{"iban":"DE89370400440532013000"},"instructedAmount":{"amount":"42.10","currency":"EUR"}}',
    );
    expect(JSON.stringify(initiatePaymentRequest('SWIFT', 'LT12', beneficiary, instruction))).toBe(
      '{"paymentRail":"SWIFT","debtorAccount":{"iban":"LT12"},"creditorAccount":{"iban":"DE89370400440532013000","bic":"COBADEFFXXX"},"creditorName":"Erika",' +
        '"creditorAddress":{"addressLine1":"Str 1","city":"Berlin","countryCode":"DE"},"instructedAmount":{"amount":"42.10","currency":"EUR"},' +
        '"remittanceInformationUnstructured":"po-1","externalReference":"po-1"}',
    );
  });

  it('refuses a beneficiary that is not an IBAN before any call', () => {
    expect(
      caught(() => ibanBeneficiary({ ...instruction, beneficiary: { type: 'card', cardToken: 't' } })),
    ).toMatchObject({ code: 'PAYOUT_REJECTED' });
  });

  it('pays from the account asked for, or the first; never from one without an IBAN', () => {
    const accounts = [
      { id: 'a', name: 'A', iban: 'LT1', currency: 'EUR' },
      { id: 'b', name: 'B', iban: 'LT2', currency: 'EUR' },
      { id: 'c', name: 'C', currency: 'EUR' },
    ];
    expect(debtorAccount(accounts).id).toBe('a');
    expect(debtorAccount(accounts, 'b').id).toBe('b');
    expect(caught(() => debtorAccount(accounts, 'c'))).toMatchObject({
      code: 'PAYOUT_REJECTED',
      message: 'ConnectPay has no debtor account c.',
    });
    expect(caught(() => debtorAccount([]))).toMatchObject({
      code: 'PAYOUT_REJECTED',
      message: 'ConnectPay returned no account to pay from.',
    });
  });

  it('prefers the internal rail, then instant SEPA, SEPA, SWIFT; never an unknown one', () => {
    expect(chooseRail(['SWIFT', 'SEPA_SCT', 'INTERNAL'])).toBe('INTERNAL');
    expect(chooseRail(['SEPA_SCT', 'SEPA_SCT_INST'])).toBe('SEPA_SCT_INST');
    expect(chooseRail(['SWIFT', 'SEPA_SCT'])).toBe('SEPA_SCT');
    expect(chooseRail(['NEW_RAIL', 'SWIFT'])).toBe('SWIFT');
    expect(caught(() => chooseRail(['NEW_RAIL']))).toMatchObject({ code: 'PAYOUT_REJECTED' });
  });

  it('asks for transactions newest first, within the range given', () => {
    expect(transactionsQuery({}).toString()).toBe('sortOrder=DESC');
    expect(transactionsQuery({ from: '2026-01-01', to: '2026-02-01' }).toString()).toBe(
      'sortOrder=DESC&dateFrom=2026-01-01&dateTo=2026-02-01',
    );
  });

  it('reads a webhook body and names the delivery by order, status and timestamp', () => {
    const body = readWebhookBody(json({ paymentOrderNo: 's-1', externalReference: 'po-1', transactionStatus: 'ACSC' }));
    expect(body && webhookNotice(body, '2026-11-24T06:00:00Z')).toEqual({
      providerReference: 's-1',
      externalId: 'po-1',
      deliveryId: 's-1:ACSC:2026-11-24T06:00:00Z',
    });
    for (const raw of ['not json', 'null', '[1]', '7']) expect(readWebhookBody(Buffer.from(raw))).toBeNull();
  });
});
