import { Module, type Type } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { EventsModule } from '../events/events.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { ProviderDoctor } from './doctor/provider-doctor';
import { ProviderDoctorController } from './doctor/provider-doctor.controller';
import { ProvidersModule } from './providers.module';
import { PROVIDER_DESCRIPTORS } from './registered-providers';

const integrations = PROVIDER_DESCRIPTORS.flatMap((descriptor) =>
  descriptor.integration ? [descriptor.integration()] : [],
);

/**
 * Every registered provider's Nest module (onboarding services, webhook handling, listeners),
 * loaded through the descriptor's `integration`, and the routes those modules declare.
 *
 * The routes are mounted here rather than in each provider module because Nest registers routes
 * module by module, level by level of the import graph, and Express tries them in that order: at
 * this level, and imported before CredentialsApiModule, a provider's fixed path such as
 * POST /v1/credentials/<provider>/certificate is tried before the generic
 * POST /v1/credentials/:id/certificate, which would read it as an id. The provider doctor, which
 * asks every provider's client, is mounted here too.
 */
@Module({
  imports: [...integrations, CredentialsModule, ProvidersModule, WebhooksModule, EventsModule],
  providers: [ProviderDoctor],
  controllers: [
    ...integrations.flatMap((module) => (module as { routes?: Type<unknown>[] }).routes ?? []),
    ProviderDoctorController,
  ],
})
export class ProviderIntegrationsModule {}
