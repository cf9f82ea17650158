import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../app.module';
import { loadEnvironment } from '../config/environment';
import { buildOpenApiDocument } from './openapi';

/**
 * The OpenAPI document as the code declares it, built without a database: Nest's preview
 * mode resolves modules and routes but instantiates nothing, so no connection is opened.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const environment = loadEnvironment({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot({ environment, databaseUrl: 'postgresql://unused@127.0.0.1:1/unused' }),
    { preview: true, logger: false, abortOnError: false },
  );
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** Stable text for the committed openapi.json: two-space JSON with a trailing newline. */
export function serializeOpenApi(document: OpenAPIObject): string {
  return JSON.stringify(document, null, 2) + '\n';
}
