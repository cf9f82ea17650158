import type { ProviderDescriptor } from '../provider-descriptor';
import { d24BeneficiaryProblems } from './d24.country-rules';
import { LatamBankBeneficiaryDto } from './d24.beneficiary.dto';
import { D24_CAPABILITIES, D24Provider } from './d24.provider';
import { D24Settings } from './d24.settings';
import { D24_STATUSES } from './d24.mapper';
// Type only (erased): the module itself is required lazily by `integration`.
import type * as Integration from './d24.module';

export const D24_ENVIRONMENTS = ['stg', 'prod', 'simulator'] as const;
export type D24Environment = (typeof D24_ENVIRONMENTS)[number];

/** D24 Cashouts v3: HMAC-signed bodies with credentials inside, notifications proven by a control string. */
export const d24Descriptor: ProviderDescriptor<'d24', D24Environment, D24Settings> = {
  id: 'd24',
  displayName: 'D24',
  environments: D24_ENVIRONMENTS,
  liveEnvironments: ['prod'],
  settings: D24Settings,
  hostFamilies: ['tls'],
  baseUrls: {
    stg: { tls: { variable: 'D24_STG_URL', default: 'https://api-stg.directa24.com' } },
    prod: { tls: { variable: 'D24_PROD_URL', default: 'https://api.directa24.com' } },
    simulator: { tls: { variable: 'D24_SIMULATOR_URL', default: 'https://127.0.0.1:4101' } },
  },
  rail: 'latam_bank_account',
  beneficiaryDto: LatamBankBeneficiaryDto,
  beneficiaryRules: (beneficiary, context) =>
    beneficiary.type === 'latam_bank_account' ? d24BeneficiaryProblems(beneficiary, context) : [],
  samplePayout: {
    currency: 'BRL',
    amount: '150.75',
    beneficiary: {
      type: 'latam_bank_account',
      country: 'BR',
      name: 'José',
      lastName: 'Müller',
      documentId: '84932568207',
      documentType: 'CPF',
      bankCode: 1,
      bankAccount: '123456789',
      bankBranch: '0001',
      accountType: 'C',
    },
  },
  capabilities: D24_CAPABILITIES,
  credentialKinds: ['api_keys'],
  statusTable: Object.fromEntries(Object.values(D24_STATUSES).map(({ name, state }) => [name, state])),
  unknownStatus: 'protocol_error',
  reversals: [
    {
      from: 'completed',
      to: 'rejected',
      source:
        'D24 Cashouts v3 status notifications: a completed cashout the bank returns is reported as rejected (seeds/d24).',
    },
  ],
  webhook: { kind: 'route', route: 'd24', allowedSourcesVariable: 'D24_NOTIFICATION_ALLOWED_IPS' },
  createClient: (environment, { http, settings }) =>
    new D24Provider(environment, http, {
      controlPrefix: settings.D24_CONTROL_PREFIX,
      controlSuffix: settings.D24_CONTROL_SUFFIX,
    }),
  // Required lazily: the module reaches Nest, the vault and DTOs, which import the descriptor list.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  integration: () => (require('./d24.module') as typeof Integration).D24Module,
  simulator: {
    configure(settings, urls) {
      settings.D24_SIMULATOR_URL ??= urls.d24;
    },
  },
};
