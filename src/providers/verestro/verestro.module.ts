import { Module } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { ProvidersModule } from '../providers.module';
import { VerestroCallbackServer } from './verestro-callbacks.server';
import { VerestroOnboarding } from './verestro.onboarding';
import { VerestroOnboardingController } from './verestro.onboarding.controller';

/** Verestro's Nest side: CSR, Basic authorization and callback CA onboarding, and the mutual-TLS callback listener. */
@Module({
  imports: [CredentialsModule, ProvidersModule, WebhooksModule],
  controllers: [VerestroOnboardingController],
  providers: [VerestroOnboarding, VerestroCallbackServer],
  exports: [VerestroOnboarding, VerestroCallbackServer],
})
export class VerestroModule {}
