import { Body, Controller, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { CurrentPrincipal, RequireScopes } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/scopes';
import { ApiProviderErrors } from '../../common/errors/api-error-responses';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { CONNECTPAY_ENVIRONMENTS, type ConnectPayEnvironment } from './connectpay.descriptor';
import { ConnectPayTokens } from './connectpay.oauth';

export class ConnectPayAuthorizeDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;

  @ApiProperty({
    description:
      'The auth code generated in Online Banking (Settings → API → Generate AuthCode), valid 24 h, used once.',
    example: '3f1c…',
  })
  @IsString()
  @Length(4, 512)
  @Matches(/^\S+$/, { message: 'must not contain spaces' })
  authCode!: string;
}

@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials/connectpay/oauth')
export class ConnectPayOAuthController {
  constructor(private readonly tokens: ConnectPayTokens) {}

  @Post('authorize')
  @ApiOperation({
    summary: 'Exchange a ConnectPay auth code for tokens',
    description:
      'Over mTLS with the DevApp client. The 30-day refresh token is sealed in the vault (shown as an oauth_refresh_token credential, flagged in its last week); the access token stays in memory and is refreshed automatically.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'OAUTH_AUTHORIZATION_REQUIRED (the code is unknown, used or expired: generate a new one), or CREDENTIAL_MISSING / CREDENTIAL_EXPIRED / CREDENTIAL_REVOKED (the DevApp API client or its mTLS certificate is not in service).',
  })
  @ApiProviderErrors()
  async authorize(
    @Body() body: ConnectPayAuthorizeDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(
      await this.tokens.authorize(body.environment, body.authCode, { keyId: principal.keyId, name: principal.name }),
    );
  }
}
