import { Module } from '@nestjs/common';
import { PayoutsModule } from '../payouts/payouts.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { ProvidersModule } from '../providers/providers.module';
import { WebhookDeliveriesRepository } from './persistence/webhook-deliveries.repository';
import { WebhooksService } from './webhooks.service';

/**
 * Turning a verified provider notification into a status fetch. The routes and listeners that
 * receive notifications belong to each provider's module (its descriptor's `webhook`).
 */
@Module({
  imports: [ProvidersModule, PayoutsModule, CredentialsModule],
  providers: [WebhooksService, WebhookDeliveriesRepository],
  exports: [WebhooksService],
})
export class WebhooksModule {}
