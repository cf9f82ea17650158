import { z } from 'zod';
import {
  lookupAfterWrite,
  protocolError,
  providerError,
  readAnswer,
  readErrorAnswer,
  token,
  withOutcomeUnknown,
} from './provider-errors';
import { ProviderError } from './provider.port';

const context = { provider: 'Acme', operation: 'create', write: true };

describe('providerError: one way to raise a provider error answer from a table row', () => {
  const rule = {
    code: 'PAYOUT_REJECTED' as const,
    meaning: 'rejected the request',
    retryable: false,
    outcomeUnknown: false,
  };

  it('builds "<provider> <meaning> (<detail>)." with the row flags and the provider code', () => {
    const error = providerError('Acme', rule, { providerCode: 300, detail: '300 Invalid params' });
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      code: 'PAYOUT_REJECTED',
      httpStatus: 422,
      retryable: false,
      outcomeUnknown: false,
      providerCode: '300',
      message: 'Acme rejected the request (300 Invalid params).',
    });
    expect(providerError('Acme', { ...rule, retryable: true, outcomeUnknown: true }).message).toBe(
      'Acme rejected the request.',
    );
    expect(providerError('Acme', { ...rule, retryable: true, outcomeUnknown: true })).toMatchObject({
      retryable: true,
      outcomeUnknown: true,
    });
  });

  it('bounds the provider detail and strips control characters (log and header safety)', () => {
    const error = providerError('Acme', rule, { detail: `line1\r\nline2${'x'.repeat(1000)}` });
    expect(error.message).toBe(`Acme rejected the request (line1  line2${'x'.repeat(288)}).`);
  });
});

describe('PROVIDER_PROTOCOL_ERROR', () => {
  it('is a 502 naming provider, call and problem; outcome unknown only after a write', () => {
    expect(protocolError(context, 'id is missing')).toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      httpStatus: 502,
      retryable: false,
      outcomeUnknown: true,
      message: 'Acme answered create with a malformed body: id is missing.',
    });
    expect(protocolError({ ...context, operation: 'status', write: false }, 'x')).toMatchObject({
      outcomeUnknown: false,
    });
  });

  const schema = z.object({
    id: z.string(),
    items: z
      .array(z.object({ kind: z.enum(['A', 'B']), amount: z.string().regex(/^\d+\.\d{2}$/, 'a decimal string') }))
      .optional(),
  });

  it.each<[string, string]>([
    ['', 'the body is empty'],
    ['<html>', 'the body is not JSON'],
    ['null', 'the body should be an object, not null'],
    ['{}', 'id is missing'],
    ['{"id":1}', 'id should be a string, not a number'],
    ['{"id":"1","items":[{"kind":"C","amount":"1.00"}]}', 'items[0].kind has an undocumented value'],
    ['{"id":"1","items":[{"kind":"A","amount":"1"}]}', 'items[0].amount has the wrong format (a decimal string)'],
  ])('%j → "%s"', (body, problem) => {
    expect(() => readAnswer(schema, Buffer.from(body), context)).toThrow(
      new ProviderError('PROVIDER_PROTOCOL_ERROR', `Acme answered create with a malformed body: ${problem}.`),
    );
  });

  it('returns the parsed answer when it has the documented shape', () => {
    expect(readAnswer(schema, Buffer.from('{"id":"1","extra":true}'), context)).toEqual({ id: '1' });
  });

  it('renders a provider value as a short printable token, never an object', () => {
    expect(token(9)).toBe('9');
    expect(token('a\u0000b')).toBe('"a b"');
    expect(token('x'.repeat(100))).toBe(JSON.stringify('x'.repeat(40)));
    expect(token({ secret: 's3cr3t' })).toBe('object');
    expect(token(null)).toBe('null');
  });
});

describe('readErrorAnswer: an error body is read leniently', () => {
  const schema = z.object({
    code: z.number().optional().catch(undefined),
    message: z.string().optional().catch(undefined),
  });

  it('keeps the fields of the documented type, drops the rest, and never throws', () => {
    expect(readErrorAnswer(schema, Buffer.from('{"code":511,"message":7}'))).toEqual({ code: 511 });
    expect(readErrorAnswer(schema, Buffer.from('not json'))).toEqual({});
    expect(readErrorAnswer(schema, Buffer.from('[1]'))).toEqual({});
  });
});

describe('a lookup that ends a write', () => {
  it('marks any provider error outcome-unknown, keeping code, message and provider code', async () => {
    const timeout = new ProviderError('PROVIDER_TIMEOUT', 'Acme did not answer in time.', {
      retryable: true,
      providerCode: 'T',
    });
    const marked = await lookupAfterWrite(Promise.reject(timeout)).catch((e: unknown) => e);
    expect(marked).toBeInstanceOf(ProviderError);
    expect(marked).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'Acme did not answer in time.',
      retryable: true,
      outcomeUnknown: true,
      providerCode: 'T',
      httpStatus: 504,
    });
    await expect(lookupAfterWrite(Promise.resolve('payout'))).resolves.toBe('payout');
  });

  it('passes anything else through unchanged', () => {
    const bug = new TypeError('x');
    expect(withOutcomeUnknown(bug)).toBe(bug);
    const unknown = new ProviderError('PROVIDER_UNAVAILABLE', 'm', { outcomeUnknown: true });
    expect(withOutcomeUnknown(unknown)).toBe(unknown);
  });
});
