/**
 * The one way a provider client turns what a provider answered into a domain error. Each
 * provider's mapper owns a table (its error codes and HTTP statuses → our `ProviderErrorCode`,
 * whether a later attempt may succeed, whether the provider may have done it anyway); this file
 * builds the `ProviderError` from a row of it, and reads success answers through a zod schema so
 * a malformed one becomes `PROVIDER_PROTOCOL_ERROR` instead of a `TypeError` further down.
 */
import type { z } from 'zod';
import { ProviderError, type ProviderErrorCode } from './provider.port';

/** How one provider error answer (a code in its body, or an HTTP status) reaches the domain. */
export interface ProviderErrorRule {
  code: ProviderErrorCode;
  /** What the provider means, in our words; the message is "<provider> <meaning> (<detail>)." */
  meaning: string;
  /** A later attempt of the same call may succeed (the provider is busy, not refusing). */
  retryable: boolean;
  /** The provider may have done it anyway: the payout is reconciled, never sent again. */
  outcomeUnknown: boolean;
  /**
   * A finer, stable name for this refusal (SCREAMING_SNAKE, provider-neutral words such as
   * BANK_CODE_UNKNOWN), kept as the payout's failure code so callers can branch on it without
   * parsing messages; absent where `code` already says all there is.
   */
  reason?: string;
  /** One sentence saying what to change before trying again; appended to the message. */
  fix?: string;
}

export type ProviderErrorTable<K extends string | number = string> = Readonly<Record<K, ProviderErrorRule>>;

/** Provider text is kept in messages for operators, but bounded: an error page is not a reason. */
const MAX_DETAIL = 300;

/** A provider's error answer as a domain error, by the rule its mapper's table gives for it. */
export function providerError(
  providerName: string,
  rule: ProviderErrorRule,
  answer: { providerCode?: string | number; detail?: string } = {},
): ProviderError {
  const detail = answer.detail ? printable(answer.detail).slice(0, MAX_DETAIL) : '';
  const said = `${providerName} ${rule.meaning}${detail ? ` (${detail})` : ''}.`;
  return new ProviderError(rule.code, rule.fix ? `${said} ${rule.fix}` : said, {
    retryable: rule.retryable,
    outcomeUnknown: rule.outcomeUnknown,
    providerCode: answer.providerCode,
    reason: rule.reason,
  });
}

/**
 * The same error, saying the outcome is unknown: for any failure of a call that follows a write
 * in the same operation (the status fetched after a create), since the write may have happened.
 */
export function withOutcomeUnknown(error: unknown): unknown {
  if (!(error instanceof ProviderError) || error.outcomeUnknown) return error;
  return new ProviderError(error.code, error.message, {
    retryable: error.retryable,
    outcomeUnknown: true,
    providerCode: error.providerCode,
    capability: error.capability,
    reason: error.reason,
  });
}

/**
 * Awaits the lookup that ends a write (a create answered "already exists", or one whose payment
 * is initiated and authorised): whatever it fails with leaves the write's outcome unknown, so the
 * payout is reconciled, never marked failed and sent again.
 */
export async function lookupAfterWrite<T>(lookup: Promise<T>): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    throw withOutcomeUnknown(error);
  }
}

/** Which provider call an answer belongs to, for the message and for what a malformed answer means. */
export interface AnswerContext {
  /** The provider as people write it (its descriptor's display name), the start of every message. */
  provider: string;
  /** The call: "create", "status", "initiatePayment", … */
  operation: string;
  /**
   * The call asked the provider to change something (create, cancel, hold). If its answer cannot
   * be read, the provider may have done it: the outcome is unknown and the payout is reconciled.
   */
  write: boolean;
}

/**
 * The answer did not have the documented shape. The message names the provider, the call and the
 * field, never the body or a value from it beyond a short printable token (an unknown status).
 */
export function protocolError(context: AnswerContext, problem: string): ProviderError {
  return new ProviderError(
    'PROVIDER_PROTOCOL_ERROR',
    `${context.provider} answered ${context.operation} with a malformed body: ${problem}.`,
    {
      retryable: false,
      outcomeUnknown: context.write,
    },
  );
}

/** Parses a success answer as JSON and checks it against the provider's documented shape. */
export function readAnswer<S extends z.ZodTypeAny>(schema: S, body: Buffer, context: AnswerContext): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw protocolError(context, body.length === 0 ? 'the body is empty' : 'the body is not JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw protocolError(context, describeIssue(result.error.issues[0]));
  return result.data as z.output<S>;
}

/**
 * Parses an error answer leniently: whatever fields have the documented type are kept, the rest
 * dropped. A refusal is a refusal even when its body is unreadable; only the detail is lost.
 */
export function readErrorAnswer<S extends z.ZodTypeAny>(schema: S, body: Buffer): Partial<z.output<S>> {
  try {
    const result = schema.safeParse(JSON.parse(body.toString('utf8')));
    return result.success ? (result.data as Partial<z.output<S>>) : {};
  } catch {
    return {};
  }
}

/** A short, printable rendering of a value a provider sent, safe to put in a message. */
export function token(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(printable(value).slice(0, 40));
  return value === null ? 'null' : typeof value;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function printable(text: string): string {
  return text.replace(CONTROL, ' ');
}

function fieldOf(path: Array<string | number>): string {
  if (path.length === 0) return 'the body';
  return path.reduce<string>(
    (name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${part}` : part),
    '',
  );
}

/** One zod issue in words that name the field and what was expected, never the value received. */
function describeIssue(issue: z.ZodIssue | undefined): string {
  if (!issue) return 'the body does not have the documented shape';
  const field = fieldOf(issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined'
        ? `${field} is missing`
        : `${field} should be ${article(issue.expected)}, not ${article(issue.received)}`;
    case 'invalid_union': {
      // Every branch refused it: say what the branches expected (all of them read the same field).
      const expected = issue.unionErrors
        .flatMap((error) => error.issues)
        .filter((inner) => inner.code === 'invalid_type');
      if (
        expected.length > 0 &&
        expected.every((inner) => inner.code === 'invalid_type' && inner.received === 'undefined')
      )
        return `${field} is missing`;
      return `${field} does not have the documented type or format`;
    }
    case 'invalid_enum_value':
      return `${field} has an undocumented value`;
    case 'invalid_literal':
      return `${field} has an undocumented value`;
    case 'too_small':
      return `${field} is empty or too short`;
    case 'too_big':
      return `${field} is too long`;
    case 'invalid_string':
      return `${field} has the wrong format${issue.message && issue.message !== 'Invalid' ? ` (${issue.message})` : ''}`;
    default:
      return `${field} ${issue.message ? `is invalid (${issue.message})` : 'is invalid'}`;
  }
}

function article(type: string): string {
  if (type === 'null' || type === 'undefined') return type;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
