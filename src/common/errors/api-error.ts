import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from './error-codes';

/** One field-level problem, as listed in `details` of a VALIDATION_FAILED error. */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

/**
 * The one error type services throw for anything a caller can fix or should know about.
 * `message` is a sentence that tells the caller what to do; it never contains a secret.
 */
export class ApiError extends Error {
  /** Response headers that belong to the error, e.g. Retry-After on a 429 or a 409 in progress. */
  headers: Record<string, string> = {};

  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The same error, telling the client when to try again (whole seconds, at least 1). */
  retryAfter(milliseconds: number): this {
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(milliseconds / 1000)));
    return this;
  }

  static notFound(what: string, id: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, ErrorCode.NOT_FOUND, `No ${what} with id ${id} exists. Check the id.`, {
      resource: what,
      id,
    });
  }

  static validation(problems: FieldProblem[], message?: string): ApiError {
    return new ApiError(
      HttpStatus.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      message ??
        `The request has ${problems.length} invalid field${problems.length === 1 ? '' : 's'}: ` +
          problems.map((p) => `${p.field} ${p.message}`).join('; ') +
          '.',
      problems,
    );
  }
}

/** The body every error response has. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: unknown };
}
