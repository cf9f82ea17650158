import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ErrorCode } from './error-codes';
import { loggableError, toErrorResponse } from './error-response';

/** The one global filter: every error leaves the service in the documented shape. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const { status, body, headers } = toErrorResponse(exception, request);
    if (body.error.code === ErrorCode.DATABASE_BUSY) {
      // Overload, not a bug: one line per refusal, without the stack.
      this.logger.warn({ status, code: body.error.code }, 'no database connection in time');
    } else if (status >= 500) {
      this.logger.error({ err: loggableError(exception), status }, 'request failed unexpectedly');
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    // A route may have set another Content-Type (e.g. text/plain for a provider that wants a bare "OK"); errors are JSON.
    if (headers) response.set(headers);
    response.status(status).type('application/json').json(body);
  }
}
