import { Module } from '@nestjs/common';
import { PROVIDER_DESCRIPTORS } from './registered-providers';

/**
 * Every registered provider's Nest module (onboarding routes, webhook route or listener, its own
 * injectables), loaded through the descriptor's lazy `integration` import.
 */
@Module({
  imports: PROVIDER_DESCRIPTORS.flatMap((descriptor) => (descriptor.integration ? [descriptor.integration()] : [])),
})
export class ProviderIntegrationsModule {}
