import { Injectable, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Environment } from '../config/environment';
import { CredentialedHttp } from './http/credentialed-http';
import { descriptorOf, isEnvironmentOf } from './provider-catalogue';
import type { ProviderDescriptor } from './provider-descriptor';
import { PayoutProvider, ProviderError, type Provider, type ProviderEnvironment } from './provider.port';

/** Resolves provider + environment to its client (one instance per pair), built by the provider's descriptor. */
@Injectable()
export class ProviderRegistry {
  private readonly instances = new Map<string, PayoutProvider>();

  constructor(
    private readonly http: CredentialedHttp,
    private readonly environment: Environment,
    private readonly moduleRef: ModuleRef,
  ) {}

  get(provider: Provider, environment: ProviderEnvironment): PayoutProvider {
    const descriptor: ProviderDescriptor = descriptorOf(provider);
    if (!isEnvironmentOf(provider, environment)) {
      throw new ProviderError(
        'PROVIDER_NOT_CONFIGURED',
        `${provider} has no ${String(environment)} environment; use one of ${descriptor.environments.join(', ')}.`,
      );
    }
    const key = `${provider}:${environment}`;
    let instance = this.instances.get(key);
    if (!instance) {
      instance = descriptor.createClient(environment, {
        http: this.http,
        settings: this.environment,
        resolve: <T>(type: Type<T>): T => this.moduleRef.get(type, { strict: false }),
      });
      this.instances.set(key, instance);
    }
    return instance;
  }
}
