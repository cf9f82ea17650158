import type { CallHandler, NestInterceptor } from '@nestjs/common';
import { HttpStatus, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { defer, finalize } from 'rxjs';
import { Environment } from '../config/environment';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { Metrics } from '../observability/metrics';

/** What a refused upload is told to wait: about the time one 10,000-row batch takes to check. */
const RETRY_AFTER_MS = 2_000;

/**
 * At most BATCH_INTAKE_CONCURRENCY batch requests (JSON or CSV) are read and checked at once on
 * this replica; more answer 429 BATCH_INTAKE_BUSY with Retry-After. Checking 10,000 rows costs
 * over a second of CPU and their parsed rows in memory, so a burst of uploads (a retrying client,
 * a script gone wrong) would otherwise share both out until every payout waits behind them.
 * An interceptor, not code in the handler: it runs before the body's validation, the costly part
 * of a JSON batch (its parsing, by the body parser, comes before any route code and is not
 * counted), and frees the slot when the answer is sent or the request fails. Nest makes one
 * instance for the routes that name it (module injectables), so they share the slots.
 */
@Injectable()
export class BatchIntakeLimit implements NestInterceptor {
  private inProgress = 0;

  constructor(
    private readonly environment: Environment,
    private readonly metrics: Metrics,
  ) {}

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    const limit = this.environment.BATCH_INTAKE_CONCURRENCY;
    if (this.inProgress >= limit) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        ErrorCode.BATCH_INTAKE_BUSY,
        `${limit} batch request(s) are being checked on this server already; nothing of this one was stored. ` +
          'Send it again after Retry-After, with the same Idempotency-Key.',
        { limit },
      ).retryAfter(RETRY_AFTER_MS);
    }
    this.inProgress += 1;
    this.metrics.batchIntakeInProgress.set(this.inProgress);
    return defer(() => next.handle()).pipe(
      finalize(() => {
        this.inProgress -= 1;
        this.metrics.batchIntakeInProgress.set(this.inProgress);
      }),
    );
  }
}
