import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json, NextFunction, Request, Response, urlencoded } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { ApiError } from './common/errors/api-error';
import { ErrorCode } from './common/errors/error-codes';
import { toErrorResponse } from './common/errors/error-response';
import { validationExceptionFactory } from './common/errors/validation';
import { buildOpenApiDocument, setupSwaggerUi } from './openapi/openapi';

export const BODY_LIMIT_BYTES = 1024 * 1024;

const BODY_TYPES = /^application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)\s*(;|$)/i;

/**
 * Builds the HTTP application exactly as production runs it; tests use the same function,
 * so what they exercise is the real stack (body limits, pipes, filter, guard, docs).
 */
export async function createApp(options: AppOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // Nest flushes buffered logs on listen(); tests only init(), so flush here for both.
  app.flushLogs();
  configureApp(app);
  return app;
}

export function configureApp(app: NestExpressApplication): void {
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(refuseUnreadableBodies);
  // Webhook signatures are over the exact bytes received: keep them beside the parsed body.
  const keepRawBody = (request: Request, _response: Response, buffer: Buffer) => {
    (request as Request & { rawBody?: Buffer }).rawBody = buffer;
  };
  app.use(json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'], verify: keepRawBody }));
  app.use(urlencoded({ limit: BODY_LIMIT_BYTES, extended: false, parameterLimit: 200, verify: keepRawBody }));
  app.use(refuseNulCharacters);
  // Body-parser errors happen before Nest's router, so they get the same error shape here.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) return next(error);
    const { status, body } = toErrorResponse(error, request);
    response.status(status).json(body);
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
  setupSwaggerUi(app, buildOpenApiDocument(app));
}

/**
 * PostgreSQL cannot store U+0000 in text, so a NUL anywhere in the body or query would surface as
 * a database error. It is refused up front, naming the field.
 */
function refuseNulCharacters(request: Request, response: Response, next: NextFunction): void {
  const found: string[] = [];
  const walk = (value: unknown, path: string, depth: number): void => {
    if (found.length > 10 || depth > 32) return;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) found.push(path || '(body)');
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (key.includes('\u0000')) found.push(`${path}${path ? '.' : ''}(a key)`);
        walk(child, path ? `${path}.${key}` : key, depth + 1);
      }
    }
  };
  walk(request.body, '', 0);
  walk(request.query, '', 0);
  if (found.length === 0) return next();
  const error = ApiError.validation(found.map((field) => ({ field, code: 'NUL_CHARACTER', message: 'must not contain the NUL character (U+0000)' })));
  const { status, body } = toErrorResponse(error, request);
  response.status(status).json(body);
}

/** A body in a format no route reads would otherwise arrive as "no body": say what to send instead. */
function refuseUnreadableBodies(request: Request, response: Response, next: NextFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  const type = request.headers['content-type'];
  if (hasBody && !(type && BODY_TYPES.test(type))) {
    const error = new ApiError(
      415,
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      'Send the request body as JSON with "Content-Type: application/json".',
      { contentType: type ?? null },
    );
    const { status, body } = toErrorResponse(error, request);
    response.status(status).json(body);
    return;
  }
  next();
}

export type App = INestApplication;
