import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { Environment } from '../config/environment';
import { DestinationPolicy, DestinationResolver } from './destination-policy';
import { EventSubscriptionsController } from './event-subscriptions.controller';
import { OutboundEvents } from './outbound-events.service';

@Module({
  imports: [CredentialsModule],
  controllers: [EventSubscriptionsController],
  providers: [
    OutboundEvents,
    DestinationResolver,
    // Built once: EVENTS_ALLOWED_DESTINATIONS is parsed here, not per request.
    { provide: DestinationPolicy, useFactory: (environment: Environment) => DestinationPolicy.fromEnvironment(environment), inject: [Environment] },
  ],
  exports: [OutboundEvents],
})
export class EventsModule {}
