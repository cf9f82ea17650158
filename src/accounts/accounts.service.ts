import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { CredentialVault } from '../credentials/credential-vault.service';
import { ENVIRONMENTS, IN_SERVICE_STATUSES } from '../credentials/domain/credential';
import { ProviderRegistry } from '../providers/provider.registry';
import {
  Capabilities,
  Money,
  ProviderError,
  ProviderTransaction,
  type Provider,
  type ProviderEnvironment,
} from '../providers/provider.port';

export interface AccountView {
  id: string;
  provider: Provider;
  environment: ProviderEnvironment;
  name: string;
  iban: string | null;
  currency: string | null;
  balance: Money | null;
  capabilities: Capabilities;
  /** Why the provider's accounts could not be listed right now (e.g. OAuth authorization missing). */
  problem: { code: ErrorCode; message: string } | null;
}

/** Account ids are "<provider>.<environment>.<provider account id>", so a call finds its provider. */
function parseId(id: string): { provider: Provider; environment: ProviderEnvironment; accountId: string } {
  const [provider, environment, ...rest] = id.split('.');
  const accountId = rest.join('.');
  if (
    !provider ||
    !(provider in ENVIRONMENTS) ||
    !(ENVIRONMENTS[provider as Provider] as readonly string[]).includes(environment) ||
    !accountId
  ) {
    throw ApiError.notFound('account', id);
  }
  return { provider: provider as Provider, environment: environment as ProviderEnvironment, accountId };
}

/** Accounts and balances across every provider + environment that has credentials in service. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly vault: CredentialVault,
    private readonly registry: ProviderRegistry,
  ) {}

  async list(): Promise<AccountView[]> {
    const connected = new Map<string, { provider: Provider; environment: ProviderEnvironment }>();
    for (const credential of await this.vault.list({})) {
      if (IN_SERVICE_STATUSES.includes(credential.status))
        connected.set(`${credential.provider}.${credential.environment}`, credential);
    }
    const views = await Promise.all(
      [...connected.values()].map(async ({ provider, environment }): Promise<AccountView[]> => {
        const implementation = this.registry.get(provider, environment);
        const base = { provider, environment, capabilities: implementation.capabilities };
        if (!implementation.capabilities.accounts.list) {
          return [
            {
              ...base,
              id: `${provider}.${environment}.default`,
              name: `${provider} ${environment}`,
              iban: null,
              currency: null,
              balance: null,
              problem: null,
            },
          ];
        }
        try {
          return (await implementation.listAccounts()).map((account) => ({
            ...base,
            id: `${provider}.${environment}.${account.id}`,
            name: account.name,
            iban: account.iban ?? null,
            currency: account.currency,
            balance: account.balance ?? null,
            problem: null,
          }));
        } catch (error) {
          const problem =
            error instanceof ProviderError
              ? { code: error.code, message: error.message }
              : { code: ErrorCode.INTERNAL, message: 'The accounts could not be listed.' };
          return [
            {
              ...base,
              id: `${provider}.${environment}.default`,
              name: `${provider} ${environment}`,
              iban: null,
              currency: null,
              balance: null,
              problem,
            },
          ];
        }
      }),
    );
    return views.flat().sort((a, b) => a.id.localeCompare(b.id));
  }

  async balance(id: string): Promise<Money> {
    const { provider, environment, accountId } = parseId(id);
    const implementation = this.registry.get(provider, environment);
    if (!implementation.capabilities.accounts.balance) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.CAPABILITY_NOT_SUPPORTED,
        `${provider} has no balance API; check the balance in its merchant panel.`,
        { provider, capability: 'accounts.balance' },
      );
    }
    return implementation.getBalance(accountId);
  }

  async transactions(id: string, range: { from?: string; to?: string }): Promise<ProviderTransaction[]> {
    const { provider, environment, accountId } = parseId(id);
    const implementation = this.registry.get(provider, environment);
    if (!implementation.capabilities.accounts.transactions) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.CAPABILITY_NOT_SUPPORTED,
        `${provider} has no transactions API.`,
        { provider, capability: 'accounts.transactions' },
      );
    }
    return implementation.listTransactions(accountId, range);
  }
}
