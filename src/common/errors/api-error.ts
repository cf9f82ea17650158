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
  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode | string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
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
  error: { code: string; message: string; details: unknown };
}
