import { Injectable } from '@nestjs/common';
import { Environment } from '../config/environment';
import { ENVIRONMENTS } from '../credentials/domain/credential';
import type { ConnectPayEnvironment, D24Environment, VerestroEnvironment } from '../credentials/domain/credential';
import { VerestroProvider } from './verestro/verestro.provider';
import { ConnectPayTokens } from './connectpay/connectpay.oauth';
import { ConnectPayProvider } from './connectpay/connectpay.provider';
import { D24Provider } from './d24/d24.provider';
import { CredentialedHttp } from './http/credentialed-http';
import { PayoutProvider, ProviderError, type Provider, type ProviderEnvironment } from './provider.port';

/** Resolves provider + environment to its implementation (one instance per pair). */
@Injectable()
export class ProviderRegistry {
  private readonly instances = new Map<string, PayoutProvider>();

  constructor(
    private readonly http: CredentialedHttp,
    private readonly tokens: ConnectPayTokens,
    private readonly environment: Environment,
  ) {}

  get(provider: Provider, environment: ProviderEnvironment): PayoutProvider {
    if (!(ENVIRONMENTS[provider] as readonly string[]).includes(environment)) {
      throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${provider} has no ${environment} environment; use one of ${ENVIRONMENTS[provider].join(', ')}.`);
    }
    const key = `${provider}:${environment}`;
    let instance = this.instances.get(key);
    if (!instance) {
      instance = this.create(provider, environment);
      this.instances.set(key, instance);
    }
    return instance;
  }

  private create(provider: Provider, environment: ProviderEnvironment): PayoutProvider {
    switch (provider) {
      case 'd24':
        return new D24Provider(environment as D24Environment, this.http, {
          controlPrefix: this.environment.D24_CONTROL_PREFIX,
          controlSuffix: this.environment.D24_CONTROL_SUFFIX,
        });
      case 'connectpay':
        return new ConnectPayProvider(environment as ConnectPayEnvironment, this.http, this.tokens, {
          webhookTokenHeader: this.environment.CONNECTPAY_WEBHOOK_TOKEN_HEADER,
          xSignatureSeparator: this.environment.CONNECTPAY_X_SIGNATURE_SEPARATOR,
        });
      case 'verestro':
        return new VerestroProvider(environment as VerestroEnvironment, this.http);
    }
  }
}
