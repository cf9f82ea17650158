import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { IsIn, IsISO31661Alpha2, Matches } from 'class-validator';
import { RequireScopes } from '../../common/auth/auth.decorators';
import { ApiProviderErrors } from '../../common/errors/api-error-responses';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { D24Banks } from './d24.banks';
import { D24_ENVIRONMENTS, type D24Environment } from './d24.descriptor';

class D24BanksQueryDto {
  @ApiProperty({ enum: D24_ENVIRONMENTS, example: 'simulator' })
  @IsIn(D24_ENVIRONMENTS, { message: `must be one of ${D24_ENVIRONMENTS.join(', ')}` })
  environment!: D24Environment;

  @ApiProperty({ example: 'BR', description: 'ISO 3166-1 alpha-2, upper case.', pattern: '^[A-Z]{2}$' })
  @Matches(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code such as BR' })
  // Only assigned codes reach D24: every other pair of letters would be a call D24 refuses.
  @IsISO31661Alpha2({ message: 'must be an assigned ISO 3166-1 alpha-2 country code such as BR' })
  country!: string;
}

class D24BankDto {
  @ApiProperty({ type: 'integer', example: 341, description: 'The beneficiary’s bankCode.' })
  code!: number;

  @ApiProperty({ example: 'Itaú' })
  name!: string;
}

class D24BankListDto {
  @ApiProperty({ enum: D24_ENVIRONMENTS })
  environment!: D24Environment;

  @ApiProperty({ example: 'BR' })
  country!: string;

  @ApiProperty({ type: [D24BankDto] })
  banks!: D24BankDto[];

  @ApiProperty({ format: 'date-time', description: 'When D24 answered this list (cached for an hour).' })
  fetchedAt!: string;
}

/** D24's bank codes per country, for beneficiary forms (the bankCode of a latam_bank_account). */
@ApiTags('Providers')
@Controller('v1/providers/d24')
export class D24BanksController {
  constructor(private readonly banks: D24Banks) {}

  @Get('banks')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'D24 banks of a country',
    description:
      'The banks D24 pays out to in a country, with the code to send as beneficiary.bankCode. Read with the environment’s read-only key and cached for an hour per environment and country.',
  })
  @ApiOkResponse({ type: D24BankListDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: environment or country.' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'PROVIDER_NOT_CONFIGURED, or CREDENTIAL_MISSING (no D24 keys, or keys without a read-only key), CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED.',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorBodyDto,
    description: 'PAYOUT_REJECTED: D24 refused the request (e.g. 518, a country it does not serve).',
  })
  @ApiProviderErrors()
  async list(@Query() query: D24BanksQueryDto): Promise<D24BankListDto> {
    const list = await this.banks.list(query.environment, query.country);
    return {
      ...list,
      banks: list.banks.map(({ code, name }) => ({ code, name })),
      fetchedAt: list.fetchedAt.toISOString(),
    };
  }
}
