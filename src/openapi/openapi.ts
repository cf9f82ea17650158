import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { packageVersion } from '../config/paths';

export const DOCS_PATH = 'docs';

const DESCRIPTION = [
  'Payouts over Verestro, ConnectPay and D24 behind one API.',
  '',
  'Every route except `/health*` needs an API key: press **Authorize** and paste it.',
  'On a local first start the admin key is printed once and saved in `.data/admin-api-key`.',
  '',
  'Errors always look like `{"error":{"code","message","details"}}`; `code` is stable.',
].join('\n');

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('payments-backend')
    .setDescription(DESCRIPTION)
    .setVersion(packageVersion())
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key, e.g. pbk_… (sent as "Authorization: Bearer <key>").',
      },
      'api-key',
    )
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}

/**
 * Swagger UI at /docs. persistAuthorization keeps the pasted API key in the browser's
 * localStorage, a convenience for local use that production turns off.
 */
export function setupSwaggerUi(
  app: INestApplication,
  document: OpenAPIObject,
  options: { persistAuthorization: boolean },
): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    yamlDocumentUrl: `${DOCS_PATH}-yaml`,
    customSiteTitle: 'payments-backend API',
    swaggerOptions: {
      persistAuthorization: options.persistAuthorization,
      displayRequestDuration: true,
      tryItOutEnabled: false,
    },
  });
}
