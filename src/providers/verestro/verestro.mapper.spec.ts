import { createHash } from 'node:crypto';
import type { PayoutInstruction } from '../provider.port';
import {
  callbackDeliveryId,
  errorFromAnswer,
  orderPath,
  readCallback,
  readDuplicateOrder,
  readOrder,
  readSendMoney,
  sendMoneyRequest,
  VERESTRO_ERRORS,
  VERESTRO_STATUSES,
  VERESTRO_UNKNOWN_STATUS_STATE,
} from './verestro.mapper';
import { caught, json } from '../../../test/support/provider-answers';

/** The order statuses the integration knows (verestro.md: "send-money → order id + status"; shapes UNCONFIRMED). */
const STATUSES: Array<[string, string]> = [
  ['PENDING', 'pending'],
  ['PROCESSING', 'processing'],
  ['COMPLETED', 'completed'],
  ['FAILED', 'failed'],
  ['REJECTED', 'rejected'],
];

describe('Verestro status table', () => {
  it('has exactly the known statuses', () => {
    expect(Object.keys(VERESTRO_STATUSES).sort()).toEqual(STATUSES.map(([status]) => status).sort());
  });

  it.each(STATUSES)('%s → %s, from send-money and from the order lookup', (status, state) => {
    const expected = { providerReference: 'ord-1', state, providerStatus: status };
    expect(readSendMoney(json({ orderId: 'ord-1', status }))).toEqual(expected);
    expect(readOrder(json({ orderId: 'ord-1', externalId: 'po-1', status, amount: '10.00', currency: 'EUR' }))).toEqual(
      expected,
    );
  });

  it('an unknown status is still processing (never final), its own text kept', () => {
    expect(VERESTRO_UNKNOWN_STATUS_STATE).toBe('processing');
    expect(readOrder(json({ orderId: 'ord-1', status: 'SETTLING' }))).toEqual({
      providerReference: 'ord-1',
      state: 'processing',
      providerStatus: 'SETTLING',
    });
    expect(readOrder(json({ orderId: 'ord-1', status: 'toString' })).state).toBe('processing');
  });
});

describe('Verestro error table', () => {
  it('decides by HTTP status 401, 403, 404, otherwise refuses', () => {
    expect(Object.keys(VERESTRO_ERRORS.byStatus)).toEqual(['401', '403', '404']);
  });

  it.each<[number, string, string]>([
    [401, 'PROVIDER_AUTH_FAILED', 'Verestro refused the Basic authorization (401).'],
    [403, 'PROVIDER_AUTH_FAILED', 'Verestro refused the Basic authorization (403).'],
    [404, 'PAYOUT_NOT_FOUND', 'Verestro does not know this order (404).'],
  ])('HTTP %i → %s, the body not repeated', (status, code, message) => {
    expect(VERESTRO_ERRORS.byStatus[status as 401 | 403 | 404].code).toBe(code);
    expect(
      errorFromAnswer(status, json({ error: 'UNAUTHORIZED', message: 'Basic authorization is required.' })),
    ).toMatchObject({ code, message, providerCode: String(status), retryable: false, outcomeUnknown: false });
  });

  it('any other 4xx → PAYOUT_REJECTED with the start of the body (its format is not public)', () => {
    expect(VERESTRO_ERRORS.otherwise.code).toBe('PAYOUT_REJECTED');
    const error = errorFromAnswer(400, json({ error: 'VALIDATION_ERROR', fields: ['amount'] }));
    expect(error).toMatchObject({
      code: 'PAYOUT_REJECTED',
      providerCode: '400',
      httpStatus: 422,
      retryable: false,
      outcomeUnknown: false,
    });
    expect(error.message).toBe('Verestro rejected the payout (400: {"error":"VALIDATION_ERROR","fields":["amount"]}).');
    expect(errorFromAnswer(422, Buffer.from('x'.repeat(1000))).message).toBe(
      `Verestro rejected the payout (422: ${'x'.repeat(200)}).`,
    );
  });
});

describe('Verestro answers that do not have the documented shape → PROVIDER_PROTOCOL_ERROR', () => {
  it.each<[string, Buffer, string]>([
    ['not JSON', Buffer.from('{"orderId":"ord'), 'the body is not JSON'],
    ['no orderId', json({ status: 'PENDING' }), 'orderId is missing'],
    ['a numeric orderId', json({ orderId: 12, status: 'PENDING' }), 'orderId should be a string, not a number'],
    ['no status', json({ orderId: 'ord-1' }), 'status is missing'],
  ])('send-money answered %s: outcome unknown (Verestro may have the order)', (_case, body, problem) => {
    const error = caught(() => readSendMoney(body));
    expect(error).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      httpStatus: 502,
      outcomeUnknown: true,
      retryable: false,
    });
    expect(error.message).toBe(`Verestro answered send-money with a malformed body: ${problem}.`);
  });

  it('a 409 without the order id is a protocol error of the write', () => {
    expect(caught(() => readDuplicateOrder(json({ error: 'DUPLICATE_EXTERNAL_ID' })))).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: true,
      message: 'Verestro answered send-money with a malformed body: orderId is missing.',
    });
    expect(readDuplicateOrder(json({ error: 'DUPLICATE_EXTERNAL_ID', orderId: 'ord-1', status: 'PENDING' }))).toBe(
      'ord-1',
    );
  });

  it('the order lookup is a read: the outcome is known', () => {
    expect(caught(() => readOrder(json({ orderId: 'ord-1', status: null })))).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: false,
      message: 'Verestro answered order-status with a malformed body: status should be a string, not null.',
    });
  });

  it('never echoes the body or a value from it', () => {
    const secret = 'card-tok-1a2b3c4d5e';
    expect(
      caught(() => readSendMoney(json({ orderId: { cardToken: secret }, status: 'PENDING' }))).message,
    ).not.toContain(secret);
  });
});

describe('Verestro requests and callbacks', () => {
  const instruction: PayoutInstruction = {
    externalId: 'po-1',
    amount: { amount: '10.50', currency: 'EUR' },
    beneficiary: { type: 'card', cardToken: 'tok_1' },
    reference: 'prize',
  };

  it('builds the send-money body byte for byte', () => {
    expect(JSON.stringify(sendMoneyRequest(instruction))).toBe(
      '{"amount":"10.50","currency":"EUR","recipient":{"cardToken":"tok_1"},"externalId":"po-1","description":"prize"}',
    );
    expect(JSON.stringify(sendMoneyRequest({ ...instruction, reference: undefined }))).toBe(
      '{"amount":"10.50","currency":"EUR","recipient":{"cardToken":"tok_1"},"externalId":"po-1"}',
    );
    expect(orderPath('ord/1')).toBe('/api/v2/client/send-money/ord%2F1');
  });

  it('refuses a beneficiary that is not a card before any call', () => {
    expect(
      caught(() => sendMoneyRequest({ ...instruction, beneficiary: { type: 'iban', name: 'A', iban: 'DE89' } })),
    ).toMatchObject({ code: 'PAYOUT_REJECTED' });
  });

  it('reads a callback only when it is an object with a printable orderId', () => {
    expect(readCallback(json({ orderId: 'ord-1', externalId: 'po-1', status: 'COMPLETED' }))).toEqual({
      orderId: 'ord-1',
      externalId: 'po-1',
    });
    expect(readCallback(json({ orderId: 'ord-1', externalId: 'po\u00001' }))).toEqual({
      orderId: 'ord-1',
      externalId: undefined,
    });
    for (const raw of [
      'null',
      '[]',
      '5',
      'not json',
      '{"orderId":7}',
      '{"orderId":""}',
      JSON.stringify({ orderId: 'a\u0000b' }),
      JSON.stringify({ orderId: 'x'.repeat(201) }),
    ]) {
      expect(readCallback(Buffer.from(raw))).toBeNull();
    }
  });

  it('names a delivery by its idempotency key, or by a hash of the whole body', () => {
    const raw = json({ orderId: 'ord-1' });
    expect(callbackDeliveryId('ord-1', 'key-1', raw)).toBe('key-1');
    expect(callbackDeliveryId('ord-1', undefined, raw)).toBe(
      `ord-1:${createHash('sha256').update(raw).digest('base64url')}`,
    );
    expect(callbackDeliveryId('ord-1', ['a', 'b'], raw)).toMatch(/^ord-1:/);
  });
});
