import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { Environment } from '../config/environment';
import { DestinationPolicy, DestinationResolver } from './destination-policy';
import { EventSubscriptionsController } from './event-subscriptions.controller';
import { OutboundEvents } from './outbound-events.service';
import { OutboundEventsRepository } from './persistence/outbound-events.repository';

@Module({
  imports: [CredentialsModule],
  controllers: [EventSubscriptionsController],
  providers: [
    OutboundEvents,
    OutboundEventsRepository,
    DestinationResolver,
    // Built once: EVENTS_ALLOWED_DESTINATIONS is parsed here, not per request.
    {
      provide: DestinationPolicy,
      useFactory: (environment: Environment) => DestinationPolicy.fromEnvironment(environment),
      inject: [Environment],
    },
  ],
  // DestinationResolver is shared so that every check of an outbound address resolves through one instance.
  exports: [OutboundEvents, DestinationResolver],
})
export class EventsModule {}
