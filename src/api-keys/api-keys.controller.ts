import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, ListApiKeysQueryDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('API keys')
@RequireScopes('keys:admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key',
    description:
      'The key is in the response once; only its hash is stored. A key can only grant scopes it holds itself (403 SCOPE_ESCALATION otherwise).',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED with one entry per bad field.' })
  async create(@Body() body: CreateApiKeyDto, @CurrentPrincipal() principal: Principal): Promise<CreatedApiKeyDto> {
    const { apiKey, secret } = await this.apiKeys.create(
      { name: body.name, owner: body.owner, scopes: body.scopes, expiresAt: body.expiresAt ?? null },
      principal,
    );
    return { ...ApiKeyDto.from(apiKey), key: secret };
  }

  @Get()
  @ApiOperation({
    summary: 'List API keys (masked)',
    description: 'Prefixes, scopes and use; never the key itself. Revoked keys only with includeRevoked=true.',
  })
  @ApiOkResponse({ type: ApiKeyDto, isArray: true })
  async list(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyDto[]> {
    return (await this.apiKeys.list({ includeRevoked: query.includeRevoked ?? false })).map((key) =>
      ApiKeyDto.from(key),
    );
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Get one API key (masked)',
    description: 'Its prefix, scopes and use; never the key itself.',
  })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', uuidParam()) id: string): Promise<ApiKeyDto> {
    return ApiKeyDto.from(await this.apiKeys.get(id));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'Idempotent. The last active keys:admin key cannot be revoked.',
  })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'LAST_ADMIN_KEY' })
  async revoke(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<ApiKeyDto> {
    return ApiKeyDto.from(await this.apiKeys.revoke(id, principal));
  }
}
