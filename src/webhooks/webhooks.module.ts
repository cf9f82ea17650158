import { Module } from '@nestjs/common';
import { PayoutsModule } from '../payouts/payouts.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { ProvidersModule } from '../providers/providers.module';
import { VerestroCallbackServer } from './verestro-callbacks.server';
import { WebhooksController } from './webhooks.controller';
import { WebhookDeliveriesRepository } from './persistence/webhook-deliveries.repository';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [ProvidersModule, PayoutsModule, CredentialsModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, VerestroCallbackServer, WebhookDeliveriesRepository],
  exports: [VerestroCallbackServer],
})
export class WebhooksModule {}
