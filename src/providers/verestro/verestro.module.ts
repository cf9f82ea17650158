import { Module, type Type } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { ProvidersModule } from '../providers.module';
import { VerestroCallbackServer } from './verestro-callbacks.server';
import { VerestroOnboarding } from './verestro.onboarding';
import { VerestroOnboardingController } from './verestro.onboarding.controller';
import { VerestroRenewal } from './verestro.renewal';

/** Verestro's Nest side: CSR, Basic authorization and callback CA onboarding, and the mutual-TLS callback listener. */
@Module({
  imports: [CredentialsModule, ProvidersModule, WebhooksModule],
  providers: [VerestroOnboarding, VerestroCallbackServer, VerestroRenewal],
  exports: [WebhooksModule, VerestroOnboarding, VerestroCallbackServer],
})
export class VerestroModule {
  /** Its routes, mounted by ProviderIntegrationsModule (see there why). */
  static readonly routes: Type<unknown>[] = [VerestroOnboardingController];
}
