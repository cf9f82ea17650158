import { Body, Controller, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { CredentialVault } from './credential-vault.service';
import { CredentialsService, publicCertificateSummary } from './credentials.service';
import { Actor } from './domain/credential';
import { CredentialDto, CredentialEventDto, ListCredentialsQueryDto } from './dto/credential.dto';
import {
  ChainReportDto,
  ConnectPayApiClientDto,
  ConnectPayCertificateDto,
  ConnectPayCertificateResponseDto,
  ConnectPayChainCheckDto,
  ConnectPayMerchantKeyDto,
  ConnectPayWebhookSecretDto,
  D24KeysDto,
  ImportCertificateDto,
  VerestroBasicAuthDto,
  VerestroCallbackCertificateDto,
  VerestroCallbackCsrDto,
  VerestroCsrRequestDto,
  VerestroCsrResponseDto,
} from './dto/onboarding.dto';
import type { ChainReport } from './connectpay/chain-lint';

const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, name: principal.name });

function reportDto(report: ChainReport): ChainReportDto {
  return { ok: report.ok, certificates: report.certificates.map(publicCertificateSummary), findings: report.findings };
}

const Rejected = (description: string) => ApiUnprocessableEntityResponse({ type: ErrorBodyDto, description });
const Invalid = () => ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: a field is missing or of the wrong type.' });

@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials')
export class CredentialsController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly vault: CredentialVault,
  ) {}

  @Post('verestro/csr')
  @ApiOperation({
    summary: 'Generate a Verestro key and CSR',
    description:
      'Builds the subject exactly as Verestro requires (OU=main, CN V-SBX-<Company>-<App> for sandbox/simulator, ' +
      'V-<Company>-<App> for beta/production, no commas), generates the RSA key (sealed, never shown) and returns the CSR ' +
      'to send to Verestro. The credential stays pending until the signed certificate is imported.',
  })
  @ApiCreatedResponse({ type: VerestroCsrResponseDto })
  @Invalid()
  @Rejected('CSR_RULES_VIOLATED: details lists every broken rule with its field and code.')
  async createVerestroCsr(@Body() body: VerestroCsrRequestDto, @CurrentPrincipal() principal: Principal): Promise<VerestroCsrResponseDto> {
    const result = await this.credentials.createVerestroCsr({ ...body, keyBits: body.keyBits ?? 4096 }, actorOf(principal));
    return { credential: CredentialDto.from(result.credential), commonName: result.commonName, csrPem: result.csrPem };
  }

  @Post('verestro/basic-auth')
  @ApiOperation({ summary: 'Store the Verestro payouts Basic authorization', description: 'Sent on top of mTLS on every payout call. Replaces the one in service for that environment.' })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeVerestroBasicAuth(@Body() body: VerestroBasicAuthDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.storeVerestroBasicAuth(body, actorOf(principal)));
  }

  @Post('verestro/callback-certificate')
  @ApiOperation({
    summary: "Sign Verestro's callback CSR",
    description:
      'Verestro calls back over mTLS in reverse: it sends a CSR, we sign it with our own callback CA (created once per environment, key sealed). The callback listener trusts only that CA. ' +
      'The CSR must carry an RSA key of at least 2048 bits or an EC key on P-256, P-384 or P-521, and a subject with exactly one CN (at most 64 characters; one of VERESTRO_CALLBACK_CSR_CN when that is set) and only CN, O, OU, C, L, ST, without commas, wildcards or control characters. ' +
      'The certificate takes only the subject and key: not a CA, client authentication only, valid for a year at most.',
  })
  @ApiCreatedResponse({ type: VerestroCallbackCertificateDto })
  @Invalid()
  @Rejected('CSR_REJECTED: the CSR is not valid or breaks the callback CA policy; details lists every problem with its field and code. Nothing is created.')
  async signVerestroCallbackCsr(@Body() body: VerestroCallbackCsrDto, @CurrentPrincipal() principal: Principal): Promise<VerestroCallbackCertificateDto> {
    return this.credentials.issueVerestroCallbackCertificate(body, actorOf(principal));
  }

  @Post('connectpay/chain-check')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Check a ConnectPay client chain (dry run, stores nothing)',
    description: "Reports every ConnectPay rule as a finding: PEM format, leaf → intermediate → root order, root included, no self-signed leaf, no Let's Encrypt, validity, key match, client-auth usage.",
  })
  @ApiOkResponse({ type: ChainReportDto })
  @Invalid()
  async checkConnectPayChain(@Body() body: ConnectPayChainCheckDto): Promise<ChainReportDto> {
    return reportDto(await this.credentials.checkConnectPayChain(body));
  }

  @Post('connectpay/certificate')
  @ApiOperation({ summary: 'Store a ConnectPay mTLS chain and key', description: 'Runs the chain check; stores (key sealed) and puts in service only when no finding is an error.' })
  @ApiCreatedResponse({ type: ConnectPayCertificateResponseDto })
  @Invalid()
  @Rejected('CHAIN_REJECTED: details.findings lists every finding.')
  async storeConnectPayCertificate(@Body() body: ConnectPayCertificateDto, @CurrentPrincipal() principal: Principal): Promise<ConnectPayCertificateResponseDto> {
    const { report, credential } = await this.credentials.storeConnectPayCertificate(body, actorOf(principal));
    return { credential: CredentialDto.from(credential), report: reportDto(report) };
  }

  @Post('connectpay/api-client')
  @ApiOperation({ summary: 'Store ConnectPay DevApp ClientKey and ClientSecret', description: 'Replaces the one in service for that environment.' })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeConnectPayApiClient(@Body() body: ConnectPayApiClientDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.storeConnectPayApiClient(body, actorOf(principal)));
  }

  @Post('connectpay/webhook-secret')
  @ApiOperation({ summary: 'Store the ConnectPay webhook Secret Token' })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeConnectPayWebhookSecret(@Body() body: ConnectPayWebhookSecretDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.storeConnectPayWebhookSecret(body, actorOf(principal)));
  }

  @Post('connectpay/merchant-signing-key')
  @ApiOperation({ summary: 'Generate the RSA-2048 key that signs Merchant API v2 requests', description: 'Download its public key from downloads.publicKey and send it to ConnectPay.' })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async generateMerchantSigningKey(@Body() body: ConnectPayMerchantKeyDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.generateConnectPayMerchantSigningKey(body, actorOf(principal)));
  }

  @Post('d24/keys')
  @ApiOperation({ summary: 'Store D24 cashout keys (API Key, Passphrase, Signature)', description: 'Replaces the keys in service for that environment.' })
  @ApiCreatedResponse({ type: CredentialDto })
  @Invalid()
  async storeD24Keys(@Body() body: D24KeysDto, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.storeD24Keys(body, actorOf(principal)));
  }

  @Get()
  @ApiOperation({ summary: 'List credentials', description: 'Metadata and masked hints only.' })
  @ApiOkResponse({ type: CredentialDto, isArray: true })
  @Invalid()
  async list(@Query() query: ListCredentialsQueryDto): Promise<CredentialDto[]> {
    return (await this.vault.list(query)).map((credential) => CredentialDto.from(credential));
  }

  // Routes with an :id come after the fixed ones, so 'connectpay/certificate' is never read as an id.
  @Post(':id/certificate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import the certificate Verestro signed',
    description: 'Checks the key, the subject against the CSR, the validity window and (when given) the CA signature, then puts it in service, retiring the one it replaces.',
  })
  @ApiOkResponse({ type: CredentialDto })
  @Invalid()
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'CREDENTIAL_NOT_PENDING or NOT_A_CSR_CREDENTIAL.' })
  @Rejected('CERTIFICATE_REJECTED: details says which check failed (KEY_MISMATCH, SUBJECT_MISMATCH, EXPIRED, NOT_SIGNED_BY_CA …).')
  async importCertificate(
    @Param('id', uuidParam()) id: string,
    @Body() body: ImportCertificateDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.importSignedCertificate(id, body, actorOf(principal)));
  }

  @Get(':id/csr')
  @ApiOperation({ summary: 'Download the CSR (PEM)' })
  @ApiProduces('application/pkcs10')
  @ApiOkResponse({ schema: { type: 'string' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NO_CSR' })
  async downloadCsr(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, pem } = await this.credentials.csrPem(id);
    return new StreamableFile(Buffer.from(pem), { type: 'application/pkcs10', disposition: `attachment; filename="${fileName}"` });
  }

  @Get(':id/submission.zip')
  @ApiOperation({ summary: 'Download the chain as ConnectPay asks for it', description: 'A .zip with fullchain.pem (leaf → intermediates → root) and each certificate on its own.' })
  @ApiProduces('application/zip')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NOT_A_CONNECTPAY_CHAIN' })
  async submissionZip(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, zip } = await this.credentials.submissionZip(id);
    return new StreamableFile(zip, { type: 'application/zip', disposition: `attachment; filename="${fileName}"` });
  }

  @Get(':id/public-key.pem')
  @ApiOperation({ summary: 'Download a public key (PEM)' })
  @ApiProduces('application/x-pem-file')
  @ApiOkResponse({ schema: { type: 'string' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NO_PUBLIC_KEY' })
  async downloadPublicKey(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, pem } = await this.credentials.publicKeyPem(id);
    return new StreamableFile(Buffer.from(pem), { type: 'application/x-pem-file', disposition: `attachment; filename="${fileName}"` });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one credential' })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', uuidParam()) id: string): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.get(id));
  }

  @Get(':id/events')
  @ApiOperation({ summary: "A credential's audit trail (append-only)" })
  @ApiOkResponse({ type: CredentialEventDto, isArray: true })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async events(@Param('id', uuidParam()) id: string): Promise<CredentialEventDto[]> {
    return (await this.vault.events(id)).map((event) => ({
      id: event.id,
      type: event.type,
      actor: event.actorName,
      actorKeyId: event.actorKeyId,
      details: event.details,
      occurredAt: event.occurredAt.toISOString(),
    }));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a credential', description: 'It is never used again (provider clients refuse it at once). Idempotent.' })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async revoke(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.revoke(id, actorOf(principal)));
  }

  @Post(':id/retire')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retire a credential', description: 'Takes it out of service without marking it compromised. Idempotent.' })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async retire(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.retire(id, actorOf(principal)));
  }
}
