import { Injectable } from '@nestjs/common';
import { Environment, settingValue } from '../config/environment';
import { descriptorOf } from './provider-catalogue';
import type { BaseUrlSetting, HostFamily, ProviderDescriptor } from './provider-descriptor';
import { ProviderError, type Provider, type ProviderEnvironment } from './provider.port';

export type { HostFamily } from './provider-descriptor';

/** Base URLs come from configuration only (the variable each descriptor names), never from an API request. */
@Injectable()
export class ProviderEndpoints {
  constructor(private readonly environment: Environment) {}

  baseUrl(provider: Provider, environment: ProviderEnvironment, family: HostFamily): string {
    const descriptor: ProviderDescriptor = descriptorOf(provider);
    const hosts: Partial<Record<HostFamily, BaseUrlSetting>> | undefined = (
      descriptor.baseUrls as Record<string, Partial<Record<HostFamily, BaseUrlSetting>>>
    )[environment];
    const setting = hosts?.[family];
    if (!setting) {
      throw new ProviderError(
        'PROVIDER_NOT_CONFIGURED',
        `${provider} has no ${family === 'mtls' ? 'mTLS' : 'one-way TLS'} host in the ${environment} environment.`,
      );
    }
    const url = settingValue(this.environment, setting.variable) ?? setting.default;
    if (!url) {
      throw new ProviderError(
        'PROVIDER_NOT_CONFIGURED',
        `Set ${setting.variable} to the ${provider} ${environment} base URL from your contract.`,
      );
    }
    return url.replace(/\/+$/, '');
  }
}
