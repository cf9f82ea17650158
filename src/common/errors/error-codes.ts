/**
 * Stable error codes: every `error.code` a response can carry is listed here, and the error
 * types (ApiError, ProviderError, the callback listener's refusals, the raw-socket answers) only
 * accept these, so a code cannot reach a client without being catalogued. Clients branch on
 * them, so a code is never renamed or reused for a different meaning; add new ones instead, and
 * document each in the README's error table (a unit test checks that).
 */
export const ErrorCode = {
  /** A field is missing, malformed or unknown; `details` lists each as {field, code, message} (400). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The request body is not valid JSON (400). */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** A request that is malformed in a way no more specific code names (400). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** No API key, or one that is unknown, expired or revoked; or a notification that does not verify (401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The key lacks a scope the route needs, or the route is not open to API keys (403). */
  FORBIDDEN_SCOPE: 'FORBIDDEN_SCOPE',
  /** Unknown route or id (404). */
  NOT_FOUND: 'NOT_FOUND',
  /** The route exists but not with this method (405). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A conflict no more specific code names (409). */
  CONFLICT: 'CONFLICT',
  /** Revoking the last active admin key would lock everyone out (409). */
  LAST_ADMIN_KEY: 'LAST_ADMIN_KEY',
  /** The request body is over the size limit (413). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The body is not JSON (or form-encoded where allowed), or not in UTF-8 (415). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A webhook source (client address) went over its budget (429, Retry-After). */
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  /** An API key went over its request budget for the current window (429, Retry-After). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Too many batch requests are being checked on this replica at once (429, Retry-After). */
  BATCH_INTAKE_BUSY: 'BATCH_INTAKE_BUSY',
  /** Too many failed authentications from one client address (429, Retry-After). */
  TOO_MANY_FAILED_AUTHENTICATIONS: 'TOO_MANY_FAILED_AUTHENTICATIONS',
  /** A key tried to give a new key a scope it does not hold itself. */
  SCOPE_ESCALATION: 'SCOPE_ESCALATION',
  /** The first request with this Idempotency-Key is still running (409, Retry-After). */
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IDEMPOTENCY_KEY_IN_PROGRESS',
  /** An event subscription URL points where events may not go (internal address, not HTTPS in production). */
  DESTINATION_NOT_ALLOWED: 'DESTINATION_NOT_ALLOWED',
  /** The event subscription was disabled: nothing is sent to it, not even a ping or a redelivery (409). */
  EVENT_SUBSCRIPTION_DISABLED: 'EVENT_SUBSCRIPTION_DISABLED',
  /** A redelivery was asked for an event whose delivery to that subscription is still being tried (409). */
  DELIVERY_STILL_PENDING: 'DELIVERY_STILL_PENDING',
  /** The request body uses a Content-Encoding that cannot be decoded. */
  BAD_CONTENT_ENCODING: 'BAD_CONTENT_ENCODING',
  /** The request (headers, or headers and body) was not received within the server's time limit (408). */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The request headers are larger than the server reads (431). */
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** A provider callback body on a callback listener that is not what the provider sends (400). */
  MALFORMED_CALLBACK: 'MALFORMED_CALLBACK',
  /**
   * A provider answered with a body that is not what its API documents (not JSON, a missing
   * field, a wrong type, an unknown status) (502). After a create, cancel or hold the provider may
   * have done it: the payout is reconciled, never sent again.
   */
  PROVIDER_PROTOCOL_ERROR: 'PROVIDER_PROTOCOL_ERROR',
  /** Readiness failed; `details` says which dependency (503). */
  NOT_READY: 'NOT_READY',
  /**
   * No database connection could be had in time (every pooled connection busy, or the database
   * refusing or restarting) (503, Retry-After). Nothing was written that a retry with the same
   * Idempotency-Key does not finish.
   */
  DATABASE_BUSY: 'DATABASE_BUSY',
  /** Anything unexpected; the message carries the request id, never SQL or a stack (500). */
  INTERNAL: 'INTERNAL',

  // ---- Credentials -----------------------------------------------------------------------------
  /** A certificate can only be imported into a credential that is still pending (409). */
  CREDENTIAL_NOT_PENDING: 'CREDENTIAL_NOT_PENDING',
  /** A certificate can only be imported into a credential created from a CSR (409). */
  NOT_A_CSR_CREDENTIAL: 'NOT_A_CSR_CREDENTIAL',
  /** The submission .zip exists only for the certificate chains a provider asks to receive that way (409). */
  NOT_A_CONNECTPAY_CHAIN: 'NOT_A_CONNECTPAY_CHAIN',
  /** The credential was not created from a CSR, so there is none to download (409). */
  NO_CSR: 'NO_CSR',
  /** The credential has no public key to download (409). */
  NO_PUBLIC_KEY: 'NO_PUBLIC_KEY',
  /** The credential holds no secret material (409). */
  CREDENTIAL_HAS_NO_SECRET: 'CREDENTIAL_HAS_NO_SECRET',
  /** The requested CSR would break the provider's subject and key rules; `details` lists each (422). */
  CSR_RULES_VIOLATED: 'CSR_RULES_VIOLATED',
  /** An imported certificate cannot be used (not PEM, expired, wrong key or subject); `details` lists why (422). */
  CERTIFICATE_REJECTED: 'CERTIFICATE_REJECTED',
  /** A provider's callback CSR cannot be signed by our callback CA; `details` lists the broken rules (422). */
  CSR_REJECTED: 'CSR_REJECTED',
  /** A client certificate chain breaks the provider's rules; `details.findings` lists each (422). */
  CHAIN_REJECTED: 'CHAIN_REJECTED',

  // ---- Payouts ---------------------------------------------------------------------------------
  /** The payout is in a final state and can no longer be cancelled, held or released (409). */
  PAYOUT_FINAL: 'PAYOUT_FINAL',
  /** The Idempotency-Key was used before with a different request body (422). */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /** The Idempotency-Key's record was purged while this request waited for it; send it again (409). */
  IDEMPOTENCY_KEY_EXPIRED: 'IDEMPOTENCY_KEY_EXPIRED',

  // ---- Beneficiaries ---------------------------------------------------------------------------
  /** An active beneficiary with the same account already exists on the rail; `details.beneficiaryId` names it (409). */
  BENEFICIARY_DUPLICATE: 'BENEFICIARY_DUPLICATE',
  /** A payout names a stored beneficiary that was disabled (409). */
  BENEFICIARY_DISABLED: 'BENEFICIARY_DISABLED',
  /** A payout names a stored beneficiary that does not exist (422). */
  BENEFICIARY_NOT_FOUND: 'BENEFICIARY_NOT_FOUND',

  // ---- Money-out controls -------------------------------------------------------------------------
  /** The payout is over its policy's most per payout; `details` names the policy, `max` and `headroom` (422). */
  PAYOUT_LIMIT_PER_PAYOUT: 'PAYOUT_LIMIT_PER_PAYOUT',
  /** The payout would take its policy's rolling 24 h total over `max`; `details.headroom` is what can still be paid (422). */
  PAYOUT_LIMIT_ROLLING_AMOUNT: 'PAYOUT_LIMIT_ROLLING_AMOUNT',
  /** The payout would be more payouts in 24 h than its policy allows; `details.headroom` is how many more can be made (422). */
  PAYOUT_LIMIT_ROLLING_COUNT: 'PAYOUT_LIMIT_ROLLING_COUNT',
  /** The approver is the payout's creator (the same key owner): a second pair of eyes is someone else (403). */
  APPROVER_IS_CREATOR: 'APPROVER_IS_CREATOR',
  /** The approving key has no owner, so the approval would be nobody's; use a key created with an owner (403). */
  APPROVER_WITHOUT_OWNER: 'APPROVER_WITHOUT_OWNER',
  /** The payout is not waiting for approval (it was approved, rejected, expired or never needed it) (409). */
  PAYOUT_NOT_PENDING_APPROVAL: 'PAYOUT_NOT_PENDING_APPROVAL',
  /** The payout waited past its approval deadline and was cancelled instead of approved (409). */
  APPROVAL_EXPIRED: 'APPROVAL_EXPIRED',
  /** The payout waits for approval: it cannot be held or released before it was sent (409). */
  PAYOUT_PENDING_APPROVAL: 'PAYOUT_PENDING_APPROVAL',

  // ---- Payout batches ---------------------------------------------------------------------------
  /** Rows of a batch break the payout rules; `details.problems` lists each {row, field, code, message}; nothing was stored (422). */
  BATCH_ROWS_INVALID: 'BATCH_ROWS_INVALID',
  /** The batch has more than 10,000 rows, or the file is over its size limit (413). */
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  /** The CSV cannot be read as a batch (not CSV, unknown or missing columns); `details` says where (400). */
  BATCH_FILE_UNREADABLE: 'BATCH_FILE_UNREADABLE',
  /** The batch does not wait for approval (approved, rejected, expired, or it never needed it) (409). */
  BATCH_NOT_PENDING_APPROVAL: 'BATCH_NOT_PENDING_APPROVAL',
  /** The batch finished (completed or cancelled): nothing is left to cancel (409). */
  BATCH_FINISHED: 'BATCH_FINISHED',

  // ---- Providers (raised as ProviderError; HTTP status in provider.port.ts) ----------------------
  /** The provider cannot do this at all; `details.capability` names what (409). */
  CAPABILITY_NOT_SUPPORTED: 'CAPABILITY_NOT_SUPPORTED',
  /**
   * The provider environment has no endpoint configured (409). On a payout create: refused before
   * anything is stored, as CREDENTIAL_MISSING.
   */
  PROVIDER_NOT_CONFIGURED: 'PROVIDER_NOT_CONFIGURED',
  /**
   * No credential of a kind the call needs is in service for the provider environment (409); the
   * message names the kind and where to store one. A payout create checks this before storing
   * anything: no payout, no history, no event, and the Idempotency-Key stays unused, so the same
   * request with the same key succeeds once a credential is in service; `details` names `provider`
   * and `environment`. Only a credential that goes away between that check and the provider call
   * fails the stored payout with this code instead (201, status failed).
   */
  CREDENTIAL_MISSING: 'CREDENTIAL_MISSING',
  /** The credential the call needs has expired (409); on a payout create, as CREDENTIAL_MISSING. */
  CREDENTIAL_EXPIRED: 'CREDENTIAL_EXPIRED',
  /** The credential the call needs was revoked (409); on a payout create, as CREDENTIAL_MISSING. */
  CREDENTIAL_REVOKED: 'CREDENTIAL_REVOKED',
  /**
   * The provider needs its OAuth authorization (re)done before this call (409); on a payout
   * create, as CREDENTIAL_MISSING.
   */
  OAUTH_AUTHORIZATION_REQUIRED: 'OAUTH_AUTHORIZATION_REQUIRED',
  /** The provider already has a payout with this id (409). */
  PAYOUT_ALREADY_EXISTS: 'PAYOUT_ALREADY_EXISTS',
  /** The provider does not allow this change in the payout's current state (409). */
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  /** The provider does not know the payout (404). */
  PAYOUT_NOT_FOUND: 'PAYOUT_NOT_FOUND',
  /** The provider account cannot cover the payout (422). */
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  /** The provider refused the payout; `details.providerCode` carries its own code, `details.reason` a finer stable name when there is one (422). */
  PAYOUT_REJECTED: 'PAYOUT_REJECTED',
  /** The provider refused our authentication (502). */
  PROVIDER_AUTH_FAILED: 'PROVIDER_AUTH_FAILED',
  /** The provider could not be reached or answered with a server error (503). */
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  /** Calls to the provider are paused after repeated failures (503). */
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  /** The provider did not answer in time (504). */
  PROVIDER_TIMEOUT: 'PROVIDER_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
