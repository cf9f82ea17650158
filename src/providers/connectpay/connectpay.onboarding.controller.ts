import { Body, Controller, Get, HttpCode, Param, Post, StreamableFile } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/scopes';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { actorOf, Invalid, Rejected } from '../../credentials/onboarding/onboarding-routes';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { uuidParam } from '../../common/http/uuid-param.pipe';
import { ChainReport, publicCertificateSummary } from './connectpay.chain-lint';
import { ConnectPayOnboarding } from './connectpay.onboarding';
import {
  ChainReportDto,
  ConnectPayApiClientDto,
  ConnectPayCertificateDto,
  ConnectPayCertificateResponseDto,
  ConnectPayChainCheckDto,
  ConnectPayMerchantKeyDto,
  ConnectPayWebhookSecretDto,
} from './connectpay.onboarding.dto';

function reportDto(report: ChainReport): ChainReportDto {
  return { ok: report.ok, certificates: report.certificates.map(publicCertificateSummary), findings: report.findings };
}

/** ConnectPay's onboarding routes (operation ids kept from when they lived in the credentials controller). */
@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials/connectpay')
export class ConnectPayOnboardingController {
  constructor(private readonly onboarding: ConnectPayOnboarding) {}

  @Post('chain-check')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'Credentials_checkConnectPayChain',
    summary: 'Check a ConnectPay client chain (dry run, stores nothing)',
    description:
      "Reports every ConnectPay rule as a finding: PEM format, leaf → intermediate → root order, root included, no self-signed leaf, no Let's Encrypt, validity, key match, client-auth usage.",
  })
  @ApiOkResponse({ type: ChainReportDto })
  @Invalid()
  async checkConnectPayChain(@Body() body: ConnectPayChainCheckDto): Promise<ChainReportDto> {
    return reportDto(await this.onboarding.checkChain(body));
  }

  @Post('certificate')
  @ApiOperation({
    operationId: 'Credentials_storeConnectPayCertificate',
    summary: 'Store a ConnectPay mTLS chain and key',
    description: 'Runs the chain check; stores (key sealed) and puts in service only when no finding is an error.',
  })
  @ApiCreatedResponse({ type: ConnectPayCertificateResponseDto })
  @Invalid()
  @Rejected('CHAIN_REJECTED: details.findings lists every finding.')
  async storeConnectPayCertificate(
    @Body() body: ConnectPayCertificateDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ConnectPayCertificateResponseDto> {
    const { report, credential } = await this.onboarding.storeCertificate(body, actorOf(principal));
    return { credential: CredentialDto.from(credential), report: reportDto(report) };
  }

  @Post('api-client')
  @ApiOperation({
    operationId: 'Credentials_storeConnectPayApiClient',
    summary: 'Store ConnectPay DevApp ClientKey and ClientSecret',
    description: 'Replaces the one in service for that environment.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeConnectPayApiClient(
    @Body() body: ConnectPayApiClientDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.onboarding.storeApiClient(body, actorOf(principal)));
  }

  @Post('webhook-secret')
  @ApiOperation({
    operationId: 'Credentials_storeConnectPayWebhookSecret',
    summary: 'Store the ConnectPay webhook Secret Token',
    description: 'The token ConnectPay sends with every notification; sealed at rest and compared in constant time.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeConnectPayWebhookSecret(
    @Body() body: ConnectPayWebhookSecretDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.onboarding.storeWebhookSecret(body, actorOf(principal)));
  }

  @Post('merchant-signing-key')
  @ApiOperation({
    operationId: 'Credentials_generateMerchantSigningKey',
    summary: 'Generate the RSA-2048 key that signs Merchant API v2 requests',
    description: 'Download its public key from downloads.publicKey and send it to ConnectPay.',
  })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async generateMerchantSigningKey(
    @Body() body: ConnectPayMerchantKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.onboarding.generateMerchantSigningKey(body, actorOf(principal)));
  }
}

/** The chain as ConnectPay asks for it, downloaded by credential id. */
@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials')
export class ConnectPayChainDownloadController {
  constructor(private readonly onboarding: ConnectPayOnboarding) {}

  @Get(':id/submission.zip')
  @ApiOperation({
    operationId: 'Credentials_submissionZip',
    summary: 'Download the chain as ConnectPay asks for it',
    description: 'A .zip with fullchain.pem (leaf → intermediates → root) and each certificate on its own.',
  })
  @ApiOkResponse({
    description: 'The .zip, as an attachment.',
    content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NOT_A_CONNECTPAY_CHAIN' })
  async submissionZip(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, zip } = await this.onboarding.submissionZip(id);
    return new StreamableFile(zip, { type: 'application/zip', disposition: `attachment; filename="${fileName}"` });
  }
}
