/**
 * Stable error codes. Clients branch on these, so a code is never renamed or reused
 * for a different meaning; add new ones instead.
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  MALFORMED_JSON: 'MALFORMED_JSON',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN_SCOPE: 'FORBIDDEN_SCOPE',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  LAST_ADMIN_KEY: 'LAST_ADMIN_KEY',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  /** An API key went over its request budget for the current window (429, Retry-After). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Too many failed authentications from one client address (429, Retry-After). */
  TOO_MANY_FAILED_AUTHENTICATIONS: 'TOO_MANY_FAILED_AUTHENTICATIONS',
  /** A key tried to give a new key a scope it does not hold itself. */
  SCOPE_ESCALATION: 'SCOPE_ESCALATION',
  /** The first request with this Idempotency-Key is still running (409, Retry-After). */
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IDEMPOTENCY_KEY_IN_PROGRESS',
  /** An event subscription URL points where events may not go (internal address, not HTTPS in production). */
  DESTINATION_NOT_ALLOWED: 'DESTINATION_NOT_ALLOWED',
  /** The request body uses a Content-Encoding that cannot be decoded. */
  BAD_CONTENT_ENCODING: 'BAD_CONTENT_ENCODING',
  /** The request (headers, or headers and body) was not received within the server's time limit (408). */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The request headers are larger than the server reads (431). */
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** A Verestro callback body that is not a JSON object with an orderId (400). */
  MALFORMED_CALLBACK: 'MALFORMED_CALLBACK',
  /**
   * A provider answered with a body that is not what its API documents (not JSON, a missing
   * field, a wrong type, an unknown status) (502). After a create, cancel or hold the provider may
   * have done it: the payout is reconciled, never sent again.
   */
  PROVIDER_PROTOCOL_ERROR: 'PROVIDER_PROTOCOL_ERROR',
  NOT_READY: 'NOT_READY',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
