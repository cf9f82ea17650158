import { Module } from '@nestjs/common';
import { CredentialsModule } from '../../credentials/credentials.module';
import { ProvidersModule } from '../providers.module';
import { ConnectPayAccessTokens } from './connectpay.access-tokens';
import { ConnectPayOAuthController } from './connectpay-oauth.controller';
import { ConnectPayTokens } from './connectpay.oauth';

/** ConnectPay's Nest side: the OAuth token manager and its authorize route. */
@Module({
  imports: [ProvidersModule, CredentialsModule],
  controllers: [ConnectPayOAuthController],
  providers: [ConnectPayTokens, { provide: ConnectPayAccessTokens, useExisting: ConnectPayTokens }],
  exports: [ConnectPayTokens, ConnectPayAccessTokens],
})
export class ConnectPayModule {}
