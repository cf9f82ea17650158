import { Body, Controller, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { CredentialVault } from './credential-vault.service';
import { CredentialsService } from './credentials.service';
import { CredentialDto, CredentialEventDto, ListCredentialsQueryDto } from './dto/credential.dto';
import { ImportCertificateDto } from './dto/import-certificate.dto';
import { actorOf, Invalid, Rejected } from './onboarding/onboarding-routes';

/**
 * The routes every credential shares. Each provider's onboarding routes (what it demands of its own
 * credentials) live in its folder and are registered before these, so a fixed path such as
 * /v1/credentials/<provider>/certificate is never read as an :id.
 */
@ApiTags('Credentials')
@RequireScopes('credentials:admin')
@Controller('v1/credentials')
export class CredentialsController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly vault: CredentialVault,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List credentials', description: 'Metadata and masked hints only.' })
  @ApiOkResponse({ type: CredentialDto, isArray: true })
  @Invalid()
  async list(@Query() query: ListCredentialsQueryDto): Promise<CredentialDto[]> {
    return (await this.vault.list(query)).map((credential) => CredentialDto.from(credential));
  }

  @Post(':id/certificate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import the certificate a provider signed from our CSR',
    description:
      'Checks the key, the subject against the CSR, the validity window and (when given) the CA signature, then puts it in service, retiring the one it replaces.',
  })
  @ApiOkResponse({ type: CredentialDto })
  @Invalid()
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'CREDENTIAL_NOT_PENDING or NOT_A_CSR_CREDENTIAL.' })
  @Rejected(
    'CERTIFICATE_REJECTED: details says which check failed (KEY_MISMATCH, SUBJECT_MISMATCH, EXPIRED, NOT_SIGNED_BY_CA …).',
  )
  async importCertificate(
    @Param('id', uuidParam()) id: string,
    @Body() body: ImportCertificateDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CredentialDto> {
    return CredentialDto.from(await this.credentials.importSignedCertificate(id, body, actorOf(principal)));
  }

  @Get(':id/csr')
  @ApiOperation({
    summary: 'Download the CSR (PEM)',
    description: 'The PKCS#10 request to send to the provider for signing, as an attachment.',
  })
  @ApiOkResponse({ description: 'The CSR in PEM.', content: { 'application/pkcs10': { schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NO_CSR' })
  async downloadCsr(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, pem } = await this.credentials.csrPem(id);
    return new StreamableFile(Buffer.from(pem), {
      type: 'application/pkcs10',
      disposition: `attachment; filename="${fileName}"`,
    });
  }

  @Get(':id/public-key.pem')
  @ApiOperation({
    summary: 'Download a public key (PEM)',
    description: 'The public half of a key pair generated here (e.g. a merchant signing key) to give the provider.',
  })
  @ApiOkResponse({
    description: 'The public key in PEM (SPKI).',
    content: { 'application/x-pem-file': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NO_PUBLIC_KEY' })
  async downloadPublicKey(@Param('id', uuidParam()) id: string): Promise<StreamableFile> {
    const { fileName, pem } = await this.credentials.publicKeyPem(id);
    return new StreamableFile(Buffer.from(pem), {
      type: 'application/x-pem-file',
      disposition: `attachment; filename="${fileName}"`,
    });
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Get one credential',
    description: 'Its metadata, certificate facts and downloads; never a secret.',
  })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', uuidParam()) id: string): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.get(id));
  }

  @Get(':id/events')
  @ApiOperation({
    summary: "A credential's audit trail (append-only)",
    description: 'Who created, imported, activated, rotated, revoked or retired it, and when.',
  })
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
  @ApiOperation({
    summary: 'Revoke a credential',
    description: 'It is never used again (provider clients refuse it at once). Idempotent.',
  })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async revoke(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.revoke(id, actorOf(principal)));
  }

  @Post(':id/retire')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retire a credential',
    description: 'Takes it out of service without marking it compromised. Idempotent.',
  })
  @ApiOkResponse({ type: CredentialDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async retire(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<CredentialDto> {
    return CredentialDto.from(await this.vault.retire(id, actorOf(principal)));
  }
}
