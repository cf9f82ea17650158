import { Body, Controller, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/scopes';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { actorOf, Invalid } from '../../credentials/onboarding/onboarding-routes';
import { D24Onboarding } from './d24.onboarding';
import { D24KeysDto } from './d24.onboarding.dto';

/** D24's onboarding route (operation id kept from when it lived in the credentials controller). */
@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials/d24')
export class D24OnboardingController {
  constructor(private readonly onboarding: D24Onboarding) {}

  @Post('keys')
  @ApiOperation({
    operationId: 'Credentials_storeD24Keys',
    summary: 'Store D24 cashout keys (API Key, Passphrase, Signature)',
    description: 'Replaces the keys in service for that environment.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeD24Keys(@Body() body: D24KeysDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.onboarding.storeKeys(body, actorOf(principal)));
  }
}
