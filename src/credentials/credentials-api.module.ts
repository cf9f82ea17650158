import { Module } from '@nestjs/common';
import { CredentialsController } from './credentials.controller';
import { CredentialsModule } from './credentials.module';

/**
 * The generic credential routes (/v1/credentials, /v1/credentials/:id/…). A module of their own,
 * imported by the AppModule after ProviderIntegrationsModule: Express tries routes in
 * registration order, and each provider's fixed onboarding paths
 * (/v1/credentials/<provider>/certificate) must come before the generic
 * /v1/credentials/:id/certificate, or they would be read as an id.
 */
@Module({
  imports: [CredentialsModule],
  controllers: [CredentialsController],
})
export class CredentialsApiModule {}
