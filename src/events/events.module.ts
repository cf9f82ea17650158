import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { EventSubscriptionsController } from './event-subscriptions.controller';
import { OutboundEvents } from './outbound-events.service';

@Module({
  imports: [CredentialsModule],
  controllers: [EventSubscriptionsController],
  providers: [OutboundEvents],
  exports: [OutboundEvents],
})
export class EventsModule {}
