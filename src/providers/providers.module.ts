import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CredentialsModule } from '../credentials/credentials.module';
import { CredentialedHttp } from './http/credentialed-http';
import { ProviderEndpoints } from './provider-endpoints';
import { ProviderRegistry } from './provider.registry';
import { ProvidersHealthIndicator } from './providers.health';

@Module({
  imports: [HttpModule, TerminusModule, CredentialsModule],
  providers: [ProviderEndpoints, CredentialedHttp, ProviderRegistry, ProvidersHealthIndicator],
  exports: [ProviderRegistry, CredentialedHttp, ProviderEndpoints, ProvidersHealthIndicator],
})
export class ProvidersModule {}
