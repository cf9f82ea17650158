import type { INestApplication } from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { json, urlencoded } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { AppOptions } from './app.module';
import { AppModule } from './app.module';
import { Authenticator } from './common/auth/authenticator';
import { httpMetrics } from './observability/http-metrics';
import { Metrics } from './observability/metrics';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { ApiError } from './common/errors/api-error';
import { ErrorCode } from './common/errors/error-codes';
import { toErrorResponse } from './common/errors/error-response';
import { validationExceptionFactory } from './common/errors/validation';
import { assignRequestId } from './common/http/request-id';
import { SERVICE_LOGGER } from './common/logging/logging';
import { AppLogger, logRequests } from './common/logging/request-logging';
import { bindRequestScope } from './common/logging/request-scope';
import { LimitedExpressAdapter, serverLimits } from './common/http/server-limits';
import { clientBucket, RateLimiter } from './common/rate-limit/rate-limiter';
import { Environment } from './config/environment';
import { buildOpenApiDocument, DOCS_PATH, setupSwaggerUi } from './openapi/openapi';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** POST /v1/payout-batches: 10,000 payouts of up to ~1.5 KiB each. */
export const BATCH_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
const BATCH_JSON_ROUTE = '/v1/payout-batches';
/** The one route that reads multipart/form-data (streamed by the route itself, see readCsvUpload). */
const BATCH_UPLOAD_ROUTE = '/v1/payout-batches/upload';

const BODY_TYPES = /^application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)\s*(;|$)/i;

/**
 * Builds the HTTP application exactly as production runs it; tests use the same function,
 * so what they exercise is the real stack (body limits, pipes, filter, guard, docs).
 */
export async function createApp(options: AppOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(options),
    new LimitedExpressAdapter(serverLimits(options.environment)),
    {
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(new AppLogger(app.get<Logger>(SERVICE_LOGGER)));
  // Nest flushes buffered logs on listen(); tests only init(), so flush here for both.
  app.flushLogs();
  configureApp(app);
  return app;
}

export function configureApp(app: NestExpressApplication): void {
  const environment = app.get(Environment);
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Express hashes every body it sends for an ETag. API answers are Cache-Control: no-store, so
  // nobody may revalidate them with it: the hash was work for nothing on every answer. (The
  // OpenAPI document at /docs-json loses its ETag too; Swagger UI's files keep theirs.)
  app.set('etag', false);
  if (environment.TRUST_PROXY) app.set('trust proxy', trustProxySetting(environment.TRUST_PROXY));
  const adapter = app.getHttpAdapter();
  // First: a request is counted from its arrival until its answer ends (see closeGracefully).
  if (adapter instanceof LimitedExpressAdapter) app.use(adapter.requestsInFlight.count);
  app.use(assignRequestId);
  // Probes hit health every few seconds; a line for each would only drown the useful ones.
  app.use(logRequests(app.get<Logger>(SERVICE_LOGGER), (url) => url.startsWith('/health')));
  app.use(httpMetrics(app.get(Metrics)));
  app.use(securityHeaders());
  app.use(refuseUnreadableBodies);
  // Webhook signatures are over the exact bytes received: keep them beside the parsed body.
  const keepRawBody = (request: Request, _response: Response, buffer: Buffer) => {
    (request as Request & { rawBody?: Buffer }).rawBody = buffer;
  };
  // Provider notifications are small: their routes get a small limit and a per-source budget,
  // both applied before a byte of the body is read (body-parser skips a body already parsed).
  const webhookLimit = environment.WEBHOOK_BODY_LIMIT_BYTES;
  app.use(
    '/v1/webhooks',
    limitWebhookSources(app.get(RateLimiter), environment),
    json({ limit: webhookLimit, type: ['application/json', 'application/*+json'], verify: keepRawBody }),
    urlencoded({ limit: webhookLimit, extended: false, parameterLimit: 100, verify: keepRawBody }),
  );
  // A JSON batch carries up to 10,000 payouts: its own larger limit, on its route only.
  app.use(batchJsonBody(app.get(Authenticator)));
  app.use(json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'], verify: keepRawBody }));
  app.use(urlencoded({ limit: BODY_LIMIT_BYTES, extended: false, parameterLimit: 200, verify: keepRawBody }));
  app.use(refuseNulCharacters);
  app.use(bindRequestScope);
  // Body-parser errors happen before Nest's router, so they get the same error shape here.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) return next(error);
    sendError(response, error, request);
  });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      exceptionFactory: validationExceptionFactory,
    }),
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  if (environment.apiDocs !== 'off') {
    if (environment.apiDocs === 'protected') app.use(requireKeyForDocs(app.get(Authenticator)));
    setupSwaggerUi(app, buildOpenApiDocument(app), { persistAuthorization: !environment.isProduction });
  }
}

function sendError(response: Response, error: unknown, request: Request): void {
  const { status, body, headers } = toErrorResponse(error, request);
  if (headers) response.set(headers);
  response.status(status).json(body);
}

/** TRUST_PROXY as Express understands it: a hop count, or a list of addresses, ranges and names. */
function trustProxySetting(value: string): number | string[] {
  return /^\d+$/.test(value)
    ? Number(value)
    : value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
}

/**
 * Security headers on every answer (helmet): nosniff, no framing, no referrer, HSTS, and a CSP
 * that allows nothing for the API (it only ever answers JSON) and what Swagger UI needs under
 * /docs. Answers that are not documentation are never stored by a cache: they may carry a key,
 * a secret or payout data.
 */
function securityHeaders(): (request: Request, response: Response, next: NextFunction) => void {
  const common = {
    frameguard: { action: 'deny' as const },
    referrerPolicy: { policy: 'no-referrer' as const },
    crossOriginResourcePolicy: { policy: 'same-origin' as const },
  };
  const api = helmet({
    ...common,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  const docs = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
      },
    },
  });
  return (request, response, next) => {
    if (isDocsPath(request.path)) {
      docs(request, response, next);
      return;
    }
    response.setHeader('Cache-Control', 'no-store');
    api(request, response, next);
  };
}

/** Swagger UI and its assets, and the document as JSON or YAML. */
function isDocsPath(path: string): boolean {
  const prefix = `/${DOCS_PATH}`;
  return path === prefix || path.startsWith(`${prefix}/`) || path === `${prefix}-json` || path === `${prefix}-yaml`;
}

/** Per-source budget on the webhook routes, counted before the body is read. */
function limitWebhookSources(
  limiter: RateLimiter,
  environment: Environment,
): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const decision = limiter.take(`webhook:${clientBucket(request.ip)}`, environment.RATE_LIMIT_WEBHOOKS_PER_SOURCE);
    if (decision.allowed) return next();
    const error = new ApiError(
      429,
      ErrorCode.TOO_MANY_REQUESTS,
      'Too many notifications from this address. Wait for the time in Retry-After.',
    ).retryAfter(decision.retryAfterMs);
    sendError(response, error, request);
  };
}

/**
 * POST /v1/payout-batches reads up to 16 MiB of JSON, but only for a caller whose API key may
 * create batches (payouts:write): anybody else gets the 1 MiB limit of every route, and the
 * guard then refuses them, so an anonymous client cannot make this process buffer 16 MiB.
 */
function batchJsonBody(
  authenticator: Authenticator,
): (request: Request, response: Response, next: NextFunction) => void {
  const parse = json({ limit: BATCH_BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] });
  return (request, response, next) => {
    if (request.method !== 'POST' || request.path !== BATCH_JSON_ROUTE) return next();
    const token = BEARER_TOKEN.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return next();
    authenticator.authenticate(token).then(
      (principal) => (principal?.scopes.includes('payouts:write') ? parse(request, response, next) : next()),
      (error: unknown) => next(error),
    );
  };
}

const BEARER_TOKEN = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * API_DOCS=protected: Swagger UI and the document need an active API key (any scope), as
 * "Authorization: Bearer <key>" or as the password of the browser's Basic prompt.
 */
function requireKeyForDocs(
  authenticator: Authenticator,
): (request: Request, response: Response, next: NextFunction) => void {
  const keyOf = (header: string | undefined): string | null => {
    if (!header) return null;
    const [scheme, value] = header.split(' ', 2);
    if (/^bearer$/i.test(scheme ?? '') && value) return value;
    if (/^basic$/i.test(scheme ?? '') && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(colon + 1) : null;
    }
    return null;
  };
  return (request, response, next) => {
    if (!isDocsPath(request.path)) return next();
    const key = keyOf(request.headers.authorization);
    const principal = key && /^[\x21-\x7e]{1,512}$/.test(key) ? authenticator.authenticate(key) : Promise.resolve(null);
    principal.then(
      (found) => {
        if (found) return next();
        response.setHeader('WWW-Authenticate', 'Basic realm="payments-backend API docs", charset="UTF-8"');
        sendError(
          response,
          new ApiError(
            401,
            ErrorCode.UNAUTHENTICATED,
            'The API documentation needs an API key: enter it as the password (any user name), or send "Authorization: Bearer <key>".',
          ),
          request,
        );
      },
      (error: unknown) => next(error),
    );
  };
}

/**
 * Fields one JSON object of a request may have. The widest this API reads has about 20 (a
 * payout's metadata, at most 20 keys); class-transformer's work on an object grows with the
 * square of its keys, so one object of 300,000 keys held the event loop for over a minute.
 */
export const MAX_FIELDS_PER_OBJECT = 64;
/** Levels of nesting a request body may have (the deepest this API reads has 4: items, an item, its beneficiary, its address). */
const MAX_BODY_DEPTH = 16;

/**
 * Refused up front, naming the field, before any validation runs: a NUL anywhere in the body or
 * query (PostgreSQL cannot store U+0000 in text, so it would surface as a database error), and an
 * object with more than MAX_FIELDS_PER_OBJECT fields (see there).
 */
function refuseNulCharacters(request: Request, response: Response, next: NextFunction): void {
  const found: Array<{ field: string; code: string; message: string }> = [];
  const walk = (value: unknown, path: string, depth: number): void => {
    if (found.length > 10) return;
    if (depth > MAX_BODY_DEPTH) {
      // Refused, not skipped: validation would still walk what lies below.
      found.push({
        field: path,
        code: 'TOO_DEEP',
        message: `is nested more than ${MAX_BODY_DEPTH} levels deep; no request this API reads is`,
      });
      return;
    }
    if (typeof value === 'string') {
      if (value.includes('\u0000'))
        found.push({
          field: path || '(body)',
          code: 'NUL_CHARACTER',
          message: 'must not contain the NUL character (U+0000)',
        });
    } else if (value && typeof value === 'object') {
      if (!Array.isArray(value)) {
        let fields = 0;
        for (const key in value) if (Object.hasOwn(value, key) && ++fields > MAX_FIELDS_PER_OBJECT) break;
        if (fields > MAX_FIELDS_PER_OBJECT) {
          found.push({
            field: path || '(body)',
            code: 'TOO_MANY_FIELDS',
            message: `has more than ${MAX_FIELDS_PER_OBJECT} fields; no object this API reads has that many`,
          });
          return;
        }
      }
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (key.includes('\u0000'))
          found.push({
            field: `${path}${path ? '.' : ''}(a key)`,
            code: 'NUL_CHARACTER',
            message: 'must not contain the NUL character (U+0000)',
          });
        walk(child, path ? `${path}.${key}` : key, depth + 1);
      }
    }
  };
  walk(request.body, '', 0);
  walk(request.query, '', 0);
  if (found.length === 0) return next();
  sendError(response, ApiError.validation(found), request);
}

/** A body in a format no route reads would otherwise arrive as "no body": say what to send instead. */
function refuseUnreadableBodies(request: Request, response: Response, next: NextFunction): void {
  const hasBody =
    Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  const type = request.headers['content-type'];
  const multipartUpload =
    request.method === 'POST' && request.path === BATCH_UPLOAD_ROUTE && /^multipart\/form-data\s*;/i.test(type ?? '');
  if (hasBody && !multipartUpload && !(type && BODY_TYPES.test(type))) {
    const error = new ApiError(
      415,
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      'Send the request body as JSON with "Content-Type: application/json".',
      { contentType: type ?? null },
    );
    sendError(response, error, request);
    return;
  }
  next();
}

export type App = INestApplication;
