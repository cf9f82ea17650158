import { Module, type Type } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { EventsModule } from '../../events/events.module';
import { D24NotificationUrlCheck } from './d24.notification-url';
import { ProvidersModule } from '../providers.module';
import { D24Banks } from './d24.banks';
import { D24BanksController } from './d24.banks.controller';
import { D24Onboarding } from './d24.onboarding';
import { D24OnboardingController } from './d24.onboarding.controller';
import { D24WebhookController } from './d24.webhook.controller';

/** D24's Nest side: key onboarding and the notification route. */
@Module({
  imports: [CredentialsModule, WebhooksModule, ProvidersModule, EventsModule],
  providers: [D24Onboarding, D24NotificationUrlCheck, D24Banks],
  exports: [WebhooksModule, D24Onboarding, D24Banks],
})
export class D24Module {
  /** Its routes, mounted by ProviderIntegrationsModule (see there why). */
  static readonly routes: Type<unknown>[] = [D24OnboardingController, D24WebhookController, D24BanksController];
}
