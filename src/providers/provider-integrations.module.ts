import { Module } from '@nestjs/common';
import { PROVIDER_DESCRIPTORS } from './registered-providers';

/**
 * Every registered provider's Nest module (onboarding routes, webhook route or listener, its own
 * injectables), loaded through the descriptor's lazy `integration` import.
 *
 * Imported by the AppModule before the credentials module on purpose: Express matches routes in
 * the order they are registered, and a provider route such as POST /v1/credentials/<p>/certificate
 * must be tried before the generic POST /v1/credentials/:id/certificate.
 */
@Module({
  imports: PROVIDER_DESCRIPTORS.flatMap((descriptor) => (descriptor.integration ? [descriptor.integration()] : [])),
})
export class ProviderIntegrationsModule {}
