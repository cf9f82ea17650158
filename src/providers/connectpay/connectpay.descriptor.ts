import type { ProviderDescriptor } from '../provider-descriptor';
import { IbanBeneficiaryDto } from './connectpay.beneficiary.dto';
import { ConnectPayAccessTokens } from './connectpay.access-tokens';
import { CONNECTPAY_CAPABILITIES, ConnectPayProvider } from './connectpay.provider';
import { ConnectPaySettings } from './connectpay.settings';
import { CONNECTPAY_STATUSES, CONNECTPAY_UNKNOWN_STATUS_STATE } from './connectpay.mapper';
// Type only (erased): the module itself is required lazily by `integration`.
import type * as Integration from './connectpay.module';

export const CONNECTPAY_ENVIRONMENTS = ['stage', 'prod', 'simulator'] as const;
export type ConnectPayEnvironment = (typeof CONNECTPAY_ENVIRONMENTS)[number];

/**
 * ConnectPay: a CA-issued full chain for mutual TLS on the person-data host, one-way TLS on the
 * merchant host (the two never mix), Basic auth, OAuth over mTLS and RSA-signed merchant requests.
 */
export const connectPayDescriptor: ProviderDescriptor<'connectpay', ConnectPayEnvironment, ConnectPaySettings> = {
  id: 'connectpay',
  displayName: 'ConnectPay',
  environments: CONNECTPAY_ENVIRONMENTS,
  liveEnvironments: ['prod'],
  settings: ConnectPaySettings,
  hostFamilies: ['mtls', 'tls'],
  baseUrls: {
    stage: {
      mtls: { variable: 'CONNECTPAY_STAGE_MTLS_URL', default: 'https://api-stage.connectpay.com' },
      tls: { variable: 'CONNECTPAY_STAGE_TLS_URL', default: 'https://api2-stage.connectpay.com' },
    },
    prod: {
      mtls: { variable: 'CONNECTPAY_PROD_MTLS_URL', default: 'https://api.connectpay.com' },
      tls: { variable: 'CONNECTPAY_PROD_TLS_URL', default: 'https://api2.connectpay.com' },
    },
    simulator: {
      mtls: { variable: 'CONNECTPAY_SIMULATOR_MTLS_URL', default: 'https://127.0.0.1:4102' },
      tls: { variable: 'CONNECTPAY_SIMULATOR_TLS_URL', default: 'https://127.0.0.1:4103' },
    },
  },
  rail: 'iban',
  beneficiaryDto: IbanBeneficiaryDto,
  samplePayout: {
    currency: 'EUR',
    amount: '250.00',
    beneficiary: {
      type: 'iban',
      name: 'Erika Mustermann',
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      address: { line1: 'Hauptstr. 1', city: 'Berlin', postcode: '10115', country: 'DE' },
    },
  },
  capabilities: CONNECTPAY_CAPABILITIES,
  credentialKinds: [
    'mtls_client_certificate',
    'api_client',
    'webhook_secret',
    'merchant_signing_key',
    'oauth_refresh_token',
  ],
  chainSubmissionKinds: ['mtls_client_certificate'],
  statusTable: CONNECTPAY_STATUSES,
  unknownStatus: CONNECTPAY_UNKNOWN_STATUS_STATE,
  reversals: [],
  webhook: { kind: 'route', route: 'connectpay', allowedSourcesVariable: 'CONNECTPAY_WEBHOOK_ALLOWED_IPS' },
  createClient: (environment, { http, settings, ...context }) =>
    new ConnectPayProvider(environment, http, context.resolve(ConnectPayAccessTokens), {
      webhookTokenHeader: settings.CONNECTPAY_WEBHOOK_TOKEN_HEADER,
      xSignatureSeparator: settings.CONNECTPAY_X_SIGNATURE_SEPARATOR,
    }),
  // Required lazily: the module reaches Nest, the vault and DTOs, which import the descriptor list.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  integration: () => (require('./connectpay.module') as typeof Integration).ConnectPayModule,
  simulator: {
    configure(settings, urls) {
      settings.CONNECTPAY_SIMULATOR_MTLS_URL ??= urls.connectpayMtls;
      settings.CONNECTPAY_SIMULATOR_TLS_URL ??= urls.connectpayOneWay;
    },
  },
};
