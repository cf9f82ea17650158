import { Body, Controller, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/scopes';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { actorOf, Invalid, Rejected } from '../../credentials/onboarding/onboarding-routes';
import { VerestroOnboarding } from './verestro.onboarding';
import {
  VerestroBasicAuthDto,
  VerestroCallbackCertificateDto,
  VerestroCallbackCsrDto,
  VerestroCsrRequestDto,
  VerestroCsrResponseDto,
} from './verestro.onboarding.dto';

/** Verestro's onboarding routes (operation ids kept from when they lived in the credentials controller). */
@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials/verestro')
export class VerestroOnboardingController {
  constructor(private readonly onboarding: VerestroOnboarding) {}

  @Post('csr')
  @ApiOperation({
    operationId: 'Credentials_createVerestroCsr',
    summary: 'Generate a Verestro key and CSR',
    description:
      'Builds the subject exactly as Verestro requires (OU=main, CN V-SBX-<Company>-<App> for sandbox/simulator, ' +
      'V-<Company>-<App> for beta/production, no commas), generates the RSA key (sealed, never shown) and returns the CSR ' +
      'to send to Verestro. The credential stays pending until the signed certificate is imported.',
  })
  @ApiCreatedResponse({ type: VerestroCsrResponseDto })
  @Invalid()
  @Rejected('CSR_RULES_VIOLATED: details lists every broken rule with its field and code.')
  async createVerestroCsr(
    @Body() body: VerestroCsrRequestDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VerestroCsrResponseDto> {
    const result = await this.onboarding.createCsr({ ...body, keyBits: body.keyBits ?? 4096 }, actorOf(principal));
    return { credential: CredentialDto.from(result.credential), commonName: result.commonName, csrPem: result.csrPem };
  }

  @Post('basic-auth')
  @ApiOperation({
    operationId: 'Credentials_storeVerestroBasicAuth',
    summary: 'Store the Verestro payouts Basic authorization',
    description: 'Sent on top of mTLS on every payout call. Replaces the one in service for that environment.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeVerestroBasicAuth(
    @Body() body: VerestroBasicAuthDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.onboarding.storeBasicAuth(body, actorOf(principal)));
  }

  @Post('callback-certificate')
  @ApiOperation({
    operationId: 'Credentials_signVerestroCallbackCsr',
    summary: "Sign Verestro's callback CSR",
    description:
      'Verestro calls back over mTLS in reverse: it sends a CSR, we sign it with our own callback CA (created once per environment, key sealed). The callback listener trusts only that CA. ' +
      'The CSR must carry an RSA key of at least 2048 bits or an EC key on P-256, P-384 or P-521, and a subject with exactly one CN (at most 64 characters; one of VERESTRO_CALLBACK_CSR_CN when that is set) and only CN, O, OU, C, L, ST, without commas, wildcards or control characters. ' +
      'The certificate takes only the subject and key: not a CA, client authentication only, valid for a year at most.',
  })
  @ApiCreatedResponse({ type: VerestroCallbackCertificateDto })
  @Invalid()
  @Rejected(
    'CSR_REJECTED: the CSR is not valid or breaks the callback CA policy; details lists every problem with its field and code. Nothing is created.',
  )
  async signVerestroCallbackCsr(
    @Body() body: VerestroCallbackCsrDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VerestroCallbackCertificateDto> {
    return this.onboarding.issueCallbackCertificate(body, actorOf(principal));
  }
}
