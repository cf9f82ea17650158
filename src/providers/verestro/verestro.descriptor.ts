import type { ProviderDescriptor } from '../provider-descriptor';
import { CardBeneficiaryDto } from './verestro.beneficiary.dto';
import { VERESTRO_CAPABILITIES, VerestroProvider } from './verestro.provider';
import { VerestroSettings } from './verestro.settings';
import { VERESTRO_STATUSES, VERESTRO_UNKNOWN_STATUS_STATE } from './verestro.mapper';
// Type only (erased): the module itself is required lazily by `integration`.
import type * as Integration from './verestro.module';

export const VERESTRO_ENVIRONMENTS = ['sandbox', 'beta', 'production', 'simulator'] as const;
export type VerestroEnvironment = (typeof VERESTRO_ENVIRONMENTS)[number];

/**
 * Verestro: mutual TLS with a certificate Verestro signs from our CSR (strict subject rules), and
 * callbacks over mutual TLS in reverse, on a listener of their own.
 */
export const verestroDescriptor: ProviderDescriptor<'verestro', VerestroEnvironment, VerestroSettings> = {
  id: 'verestro',
  displayName: 'Verestro',
  environments: VERESTRO_ENVIRONMENTS,
  liveEnvironments: ['production'],
  settings: VerestroSettings,
  hostFamilies: ['mtls'],
  baseUrls: {
    sandbox: { mtls: { variable: 'VERESTRO_SANDBOX_URL', default: 'https://payouts.verestro.dev' } },
    // Beta and production hosts come with the contract: no default.
    beta: { mtls: { variable: 'VERESTRO_BETA_URL' } },
    production: { mtls: { variable: 'VERESTRO_PRODUCTION_URL' } },
    simulator: { mtls: { variable: 'VERESTRO_SIMULATOR_URL', default: 'https://127.0.0.1:4104' } },
  },
  rail: 'card',
  beneficiaryDto: CardBeneficiaryDto,
  samplePayout: {
    currency: 'EUR',
    amount: '20.00',
    beneficiary: { type: 'card', cardToken: 'tok_visa_4242', name: 'Jan Kowalski' },
  },
  capabilities: VERESTRO_CAPABILITIES,
  credentialKinds: ['mtls_client_certificate', 'api_client', 'callback_ca'],
  statusTable: VERESTRO_STATUSES,
  unknownStatus: VERESTRO_UNKNOWN_STATUS_STATE,
  reversals: [],
  webhook: { kind: 'listener', portVariable: 'VERESTRO_CALLBACK_PORT' },
  createClient: (environment, { http }) => new VerestroProvider(environment, http),
  // Required lazily: the module reaches Nest, the vault and DTOs, which import the descriptor list.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  integration: () => (require('./verestro.module') as typeof Integration).VerestroModule,
  simulator: {
    configure(settings, urls) {
      settings.VERESTRO_SIMULATOR_URL ??= urls.verestro;
      // The Verestro simulator calls back over mutual TLS, so the callback listener runs.
      settings.VERESTRO_CALLBACK_PORT ??= 0;
    },
  },
};
