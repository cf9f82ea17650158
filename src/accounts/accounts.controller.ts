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
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { MoneyDto } from '../payouts/dto/payout.dto';
import { PROVIDERS } from '../providers/provider-catalogue';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { AccountsService } from './accounts.service';

/** A provider that lists accounts, for the examples. */
const ACCOUNTS_PROVIDER =
  PROVIDER_DESCRIPTORS.find((descriptor) => descriptor.capabilities.accounts.list)?.id ?? PROVIDERS[0];

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
    description:
      'What this provider can do: payouts (create/status/cancel/hold), accounts (list/balance/transactions), webhooks.',
    type: 'object',
    additionalProperties: true,
  })
  capabilities!: object;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'Why the accounts could not be listed now, e.g. OAUTH_AUTHORIZATION_REQUIRED.',
  })
  problem!: { code: string; message: string } | null;
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

  @Get(':id/balance')
  @ApiOperation({
    summary: "An account's balance",
    description: 'D24 has no balance API: 409 CAPABILITY_NOT_SUPPORTED (details.capability: accounts.balance).',
  })
  @ApiOkResponse({ type: MoneyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto })
  async balance(@Param('id') id: string): Promise<MoneyDto> {
    return this.accounts.balance(id);
  }

  @Get(':id/transactions')
  @ApiOperation({ summary: "An account's transactions (ConnectPay)" })
  @ApiOkResponse({ type: TransactionDto, isArray: true })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto })
  async transactions(@Param('id') id: string, @Query() query: TransactionsQueryDto): Promise<TransactionDto[]> {
    return this.accounts.transactions(id, query);
  }
}
