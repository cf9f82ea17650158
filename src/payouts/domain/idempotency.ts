import type { Payout } from './payout';

/**
 * How long an Idempotency-Key is remembered (per API key): a retry within this time gets the first
 * answer. The one number behind the stored expiry, the API description and the README.
 */
export const IDEMPOTENCY_KEY_RETENTION_HOURS = 48;

/**
 * The Idempotency-Keys of batch rows' payouts begin with this (`batch:<batchId>:<rowKey>`). A
 * client may not send such a key: a payout made under a row's key before the row is sent would
 * be taken as that row's payout.
 */
export const BATCH_ROW_KEY_PREFIX = 'batch:';

/** Which request an Idempotency-Key belongs to: the API key that sent it and the key itself. */
export interface IdempotencyScope {
  apiKeyId: string;
  key: string;
}

/**
 * The answer given to the first request with an Idempotency-Key, stored as it was sent so that a
 * replay returns exactly it (whatever version of the API rendered it).
 */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** A claimed Idempotency-Key: who works on it, until when, and (once done) its answer. */
export interface IdempotencyClaim extends IdempotencyScope {
  /** HMAC of the request body under the master key that was current when it was claimed. */
  requestHash: string;
  payoutId: string;
  answer: StoredAnswer | null;
  /** The process working on the first attempt (its liveness lock id); null for claims written without one. */
  ownerInstance: number | null;
  leaseUntil: Date | null;
  createdAt: Date;
}

/**
 * How the answer to a created payout is rendered for storage with its Idempotency-Key. Provided by
 * the HTTP layer (the service knows no status codes or DTOs); the service stores it in the same
 * transaction as the payout's outcome.
 */
export abstract class CreatedPayoutAnswer {
  abstract render(payout: Payout): StoredAnswer;
}

/** What PayoutsService.create did: made (or finished) the payout, or found the stored answer of an earlier request. */
export type CreateOutcome = { outcome: 'created'; payout: Payout } | { outcome: 'replayed'; answer: StoredAnswer };
