import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { packageVersion } from '../config/paths';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { completeContract } from './contract';

export const DOCS_PATH = 'docs';

const DESCRIPTION = [
  `Payouts over ${PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.displayName).join(', ')} behind one API.`,
  '',
  'Every route except `/health*` needs an API key: press **Authorize** and paste it.',
  'On a local first start the admin key is printed once and saved in `.data/admin-api-key`.',
  '',
  'Errors always look like `{"error":{"code","message","details"}}`; `code` is stable.',
  'Every answer carries `X-Request-ID` (yours when it is sane, else a new one); quote it when reporting a problem.',
].join('\n');

/** Every tag an operation uses, with what the group is for (Swagger UI shows these as section headers). */
const TAGS: Array<[name: string, description: string]> = [
  ['Health', 'Liveness and readiness probes for orchestrators; no API key.'],
  ['Operations', 'Prometheus metrics for the on-call engineer (scope metrics:read, or a listener of their own).'],
  ['API keys', 'Create, list and revoke the keys callers authenticate with, each with its scopes.'],
  [
    'Payouts',
    'Create payouts with an Idempotency-Key, follow them to a final state, cancel, hold, release or re-check them.',
  ],
  [
    'Beneficiaries',
    'Stored beneficiaries: checked once, sealed at rest, masked in answers, paid by beneficiaryId; duplicates refused.',
  ],
  [
    'Payout batches',
    'Many payouts as one: JSON items or a CSV upload of up to 10,000 rows, checked row by row (dry run), stored before any is sent, each row paid exactly once.',
  ],
  [
    'Payout policies',
    'Limits per currency (per payout, rolling 24 h amount and count), optionally per provider, environment or key, and the rules that make payouts wait for approval.',
  ],
  [
    'Audit',
    'Who did what: keys, credentials, policies, beneficiaries, approvals, cancels and holds, append-only, by principal.',
  ],
  ['Accounts', 'Provider accounts, balances and transactions, read live from each provider.'],
  ['Providers', 'Reference data read from providers (bank codes per country), cached.'],
  [
    'Credentials',
    "The credential vault and each provider's onboarding: CSRs that keep the provider's rules, chain checks, imports of certificates, keys and secrets (sealed at rest), and their lifecycle.",
  ],
  ['Webhooks', "Provider notifications; each is proven by the provider's own signature or token, not an API key."],
  [
    'Events',
    'Subscriptions that deliver signed events (payouts, batches, credentials) to your HTTPS endpoints, with a delivery log, redelivery, ping and secret rotation.',
  ],
];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('payments-backend')
    .setDescription(DESCRIPTION)
    .setVersion(packageVersion())
    // Relative: the document is served by the server it describes, whatever its address.
    .addServer('/', 'The server that serves this document')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'pbk_<random>',
        description: 'An API key, e.g. pbk_… (sent as "Authorization: Bearer <key>").',
      },
      'api-key',
    );
  for (const [name, description] of TAGS) config.addTag(name, description);
  const document = SwaggerModule.createDocument(app, config.build(), {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  // As package.json says: no license has been chosen yet (DocumentBuilder would add an empty, invalid url).
  document.info.license = { name: 'UNLICENSED' };
  return completeContract(document);
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
