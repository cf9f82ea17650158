import { Module, type Type } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { DestinationResolver } from '../../events/destination-policy';
import { D24NotificationUrlCheck } from './d24.notification-url';
import { D24Onboarding } from './d24.onboarding';
import { D24OnboardingController } from './d24.onboarding.controller';
import { D24WebhookController } from './d24.webhook.controller';

/** D24's Nest side: key onboarding and the notification route. */
@Module({
  imports: [CredentialsModule, WebhooksModule],
  providers: [D24Onboarding, D24NotificationUrlCheck, DestinationResolver],
  exports: [WebhooksModule, D24Onboarding],
})
export class D24Module {
  /** Its routes, mounted by ProviderIntegrationsModule (see there why). */
  static readonly routes: Type<unknown>[] = [D24OnboardingController, D24WebhookController];
}
