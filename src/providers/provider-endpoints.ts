import { Injectable } from '@nestjs/common';
import { Environment } from '../config/environment';
import { ProviderError, type Provider, type ProviderEnvironment } from './provider.port';

/** mTLS for server-to-server APIs that touch person data; one-way TLS for the rest (ConnectPay). */
export type HostFamily = 'mtls' | 'tls';

type EndpointKey = `${Provider}:${ProviderEnvironment}:${HostFamily}`;

/** [environment variable, default]. Defaults are the providers' real hosts and the local simulators. */
const ENDPOINTS: Partial<Record<EndpointKey, [keyof Environment, string | undefined]>> = {
  'd24:stg:tls': ['D24_STG_URL', 'https://api-stg.directa24.com'],
  'd24:prod:tls': ['D24_PROD_URL', 'https://api.directa24.com'],
  'd24:simulator:tls': ['D24_SIMULATOR_URL', 'https://127.0.0.1:4101'],
  'connectpay:stage:mtls': ['CONNECTPAY_STAGE_MTLS_URL', 'https://api-stage.connectpay.com'],
  'connectpay:stage:tls': ['CONNECTPAY_STAGE_TLS_URL', 'https://api2-stage.connectpay.com'],
  'connectpay:prod:mtls': ['CONNECTPAY_PROD_MTLS_URL', 'https://api.connectpay.com'],
  'connectpay:prod:tls': ['CONNECTPAY_PROD_TLS_URL', 'https://api2.connectpay.com'],
  'connectpay:simulator:mtls': ['CONNECTPAY_SIMULATOR_MTLS_URL', 'https://127.0.0.1:4102'],
  'connectpay:simulator:tls': ['CONNECTPAY_SIMULATOR_TLS_URL', 'https://127.0.0.1:4103'],
  'verestro:sandbox:mtls': ['VERESTRO_SANDBOX_URL', 'https://payouts.verestro.dev'],
  'verestro:beta:mtls': ['VERESTRO_BETA_URL', undefined],
  'verestro:production:mtls': ['VERESTRO_PRODUCTION_URL', undefined],
  'verestro:simulator:mtls': ['VERESTRO_SIMULATOR_URL', 'https://127.0.0.1:4104'],
};

/** Base URLs come from configuration only, never from an API request. */
@Injectable()
export class ProviderEndpoints {
  constructor(private readonly environment: Environment) {}

  baseUrl(provider: Provider, environment: ProviderEnvironment, family: HostFamily): string {
    const entry = ENDPOINTS[`${provider}:${environment}:${family}`];
    if (!entry) {
      throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${provider} has no ${family === 'mtls' ? 'mTLS' : 'one-way TLS'} host in the ${environment} environment.`);
    }
    const [variable, fallback] = entry;
    const url = (this.environment[variable] as string | undefined) ?? fallback;
    if (!url) {
      throw new ProviderError('PROVIDER_NOT_CONFIGURED', `Set ${String(variable)} to the ${provider} ${environment} base URL from your contract.`);
    }
    return url.replace(/\/+$/, '');
  }
}
