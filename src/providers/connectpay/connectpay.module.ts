import { Module, type Type } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { ProvidersModule } from '../providers.module';
import { ConnectPayAccessTokens } from './connectpay.access-tokens';
import { ConnectPayOAuthController } from './connectpay-oauth.controller';
import { ConnectPayTokens } from './connectpay.oauth';
import { ConnectPayOnboarding } from './connectpay.onboarding';
import { ConnectPayChainDownloadController, ConnectPayOnboardingController } from './connectpay.onboarding.controller';
import { ConnectPayRenewal } from './connectpay.renewal';
import { ConnectPayRevocation } from './connectpay.revocation';
import { EventsModule } from '../../events/events.module';
import { ConnectPayWebhookController } from './connectpay.webhook.controller';

/** ConnectPay's Nest side: credential onboarding, the OAuth token manager and its authorize route, the notification route. */
@Module({
  imports: [ProvidersModule, CredentialsModule, WebhooksModule, EventsModule],
  providers: [
    ConnectPayOnboarding,
    ConnectPayTokens,
    { provide: ConnectPayAccessTokens, useExisting: ConnectPayTokens },
    ConnectPayRenewal,
    ConnectPayRevocation,
  ],
  exports: [WebhooksModule, ConnectPayOnboarding, ConnectPayTokens, ConnectPayAccessTokens],
})
export class ConnectPayModule {
  /** Its routes, mounted by ProviderIntegrationsModule (see there why). */
  static readonly routes: Type<unknown>[] = [
    ConnectPayOnboardingController,
    ConnectPayChainDownloadController,
    ConnectPayOAuthController,
    ConnectPayWebhookController,
  ];
}
