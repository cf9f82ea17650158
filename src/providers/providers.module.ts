import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CredentialsModule } from '../credentials/credentials.module';
import { ConnectPayOAuthController } from './connectpay/connectpay-oauth.controller';
import { ConnectPayTokens } from './connectpay/connectpay.oauth';
import { CredentialedHttp } from './http/credentialed-http';
import { ProviderEndpoints } from './provider-endpoints';
import { ProviderRegistry } from './provider.registry';
import { ProvidersHealthIndicator } from './providers.health';

@Module({
  imports: [HttpModule, TerminusModule, CredentialsModule],
  controllers: [ConnectPayOAuthController],
  providers: [ProviderEndpoints, CredentialedHttp, ConnectPayTokens, ProviderRegistry, ProvidersHealthIndicator],
  exports: [ProviderRegistry, CredentialedHttp, ConnectPayTokens, ProvidersHealthIndicator],
})
export class ProvidersModule {}
