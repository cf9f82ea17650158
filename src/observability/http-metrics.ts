import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from './metrics';

/**
 * Times every API request into http_request_duration_seconds, labelled by the route template the
 * router matched (`/v1/payouts/:id`, never the path with its ids), so the label set stays
 * bounded whatever clients send. A request no route matched is `unmatched`; one whose client
 * went away before the answer was written has status `aborted`.
 */
export function httpMetrics(metrics: Metrics): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const route = (request.route as { path?: unknown } | undefined)?.path;
      metrics.httpRequestDuration.observe(
        {
          method: KNOWN_METHODS.has(request.method) ? request.method : 'OTHER',
          route: typeof route === 'string' ? route : 'unmatched',
          status: response.writableFinished ? String(response.statusCode) : 'aborted',
        },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  };
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
