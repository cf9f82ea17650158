import type { Capabilities } from '../providers/provider.port';
import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { RequireScopes } from '../common/auth/auth.decorators';
import { ApiProviderErrors } from '../common/errors/api-error-responses';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { MoneyDto } from '../payouts/dto/payout.dto';
import { PROVIDERS } from '../providers/provider-catalogue';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { AccountsService } from './accounts.service';

/** The display names of the providers whose capabilities pass, for the route descriptions. */
const providersThat = (test: (capabilities: Capabilities) => boolean): string =>
  PROVIDER_DESCRIPTORS.filter((descriptor) => test(descriptor.capabilities))
    .map((descriptor) => descriptor.displayName)
    .join(', ') || 'none';

/** A provider that lists accounts, for the examples. */
const ACCOUNTS_PROVIDER =
  PROVIDER_DESCRIPTORS.find((descriptor) => descriptor.capabilities.accounts.list)?.id ?? PROVIDERS[0];

class PayoutCapabilitiesDto {
  @ApiProperty() create!: boolean;
  @ApiProperty() status!: boolean;
  @ApiProperty() cancel!: boolean;
  @ApiProperty() hold!: boolean;
}

class AccountCapabilitiesDto {
  @ApiProperty() list!: boolean;
  @ApiProperty() balance!: boolean;
  @ApiProperty() transactions!: boolean;
}

class WebhookCapabilitiesDto {
  @ApiProperty() verify!: boolean;
}

/** What a provider can do (Capabilities in provider.port.ts); routes it cannot serve answer 409 CAPABILITY_NOT_SUPPORTED. */
class CapabilitiesDto {
  @ApiProperty({ type: PayoutCapabilitiesDto }) payouts!: PayoutCapabilitiesDto;
  @ApiProperty({ type: AccountCapabilitiesDto }) accounts!: AccountCapabilitiesDto;
  @ApiProperty({ type: WebhookCapabilitiesDto }) webhooks!: WebhookCapabilitiesDto;
}

class AccountProblemDto {
  @ApiProperty({ example: 'OAUTH_AUTHORIZATION_REQUIRED', description: 'An error code from the README error table.' })
  code!: string;

  @ApiProperty({ description: 'What to do about it.' })
  message!: string;
}

class AccountDto {
  @ApiProperty({
    example: `${ACCOUNTS_PROVIDER}.simulator.acc-eur-main`,
    description: '<provider>.<environment>.<account>',
  })
  id!: string;

  @ApiProperty({ enum: PROVIDERS, example: ACCOUNTS_PROVIDER })
  provider!: string;

  @ApiProperty({ example: 'simulator' })
  environment!: string;

  @ApiProperty({ example: 'Main EUR account' })
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  iban!: string | null;

  @ApiProperty({ type: String, nullable: true })
  currency!: string | null;

  @ApiProperty({ type: MoneyDto, nullable: true })
  balance!: MoneyDto | null;

  @ApiProperty({
    type: CapabilitiesDto,
    description:
      'What this provider can do: payouts (create/status/cancel/hold), accounts (list/balance/transactions), webhooks.',
  })
  capabilities!: CapabilitiesDto;

  @ApiProperty({
    type: AccountProblemDto,
    nullable: true,
    description: 'Why the accounts could not be listed now, e.g. OAUTH_AUTHORIZATION_REQUIRED.',
  })
  problem!: AccountProblemDto | null;
}

class TransactionDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  bookedAt!: string;

  @ApiProperty({ type: MoneyDto })
  amount!: MoneyDto;

  @ApiProperty({ enum: ['credit', 'debit'] })
  direction!: string;

  @ApiProperty()
  description!: string;

  @ApiPropertyOptional()
  counterpartyIban?: string;
}

class TransactionsQueryDto {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'YYYY-MM-DD' })
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'YYYY-MM-DD' })
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' })
  to?: string;
}

@ApiTags('Accounts')
@RequireScopes('accounts:read')
@Controller('v1/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get()
  @ApiOperation({
    summary: 'Accounts across connected providers',
    description:
      'One entry per provider account (or per provider + environment where the provider has no account API), with its capabilities.',
  })
  @ApiOkResponse({ type: AccountDto, isArray: true })
  async list(): Promise<AccountDto[]> {
    return this.accounts.list();
  }

  @Get(':accountId/balance')
  @ApiOperation({
    summary: "An account's balance",
    description: `Providers with a balance API: ${providersThat((c) => c.accounts.balance)}. Others: 409 CAPABILITY_NOT_SUPPORTED (details.capability: accounts.balance).`,
  })
  @ApiOkResponse({ type: MoneyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'CAPABILITY_NOT_SUPPORTED, CREDENTIAL_MISSING, CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED or OAUTH_AUTHORIZATION_REQUIRED.',
  })
  @ApiProviderErrors()
  async balance(@Param('accountId') id: string): Promise<MoneyDto> {
    return this.accounts.balance(id);
  }

  @Get(':accountId/transactions')
  @ApiOperation({
    summary: "An account's transactions",
    description: `Providers with a transactions API: ${providersThat((c) => c.accounts.transactions)}. Others: 409 CAPABILITY_NOT_SUPPORTED.`,
  })
  @ApiOkResponse({ type: TransactionDto, isArray: true })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'CAPABILITY_NOT_SUPPORTED, CREDENTIAL_MISSING, CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED or OAUTH_AUTHORIZATION_REQUIRED.',
  })
  @ApiProviderErrors()
  async transactions(@Param('accountId') id: string, @Query() query: TransactionsQueryDto): Promise<TransactionDto[]> {
    return this.accounts.transactions(id, query);
  }
}
