import { Injectable, Logger } from '@nestjs/common';
import { type AuditActor, AuditTrail } from '../audit/audit-trail';
import { ApiError, type FieldProblem } from '../common/errors/api-error';
import type { Transaction } from '../database/unit-of-work';
import { isCurrency } from '../payouts/domain/money';
import type { PayoutPolicy, PolicyScope } from '../payouts/domain/payout-controls';
import { checkAmount } from '../payouts/payout-input';
import { PayoutPolicyBook } from '../payouts/payout-policy-book';
import { ENVIRONMENTS } from '../providers/provider-catalogue';
import type { PayoutPolicyInputDto } from './dto/payout-policy.dto';
import { PayoutPoliciesRepository, scopeKey, type PolicyDraft } from './persistence/payout-policies.repository';

/** Payout policies: read, replaced as a whole, and locked for payouts through the PayoutPolicyBook port. */
@Injectable()
export class PayoutPoliciesService extends PayoutPolicyBook {
  private readonly logger = new Logger('PayoutPolicies');

  constructor(
    private readonly policies: PayoutPoliciesRepository,
    private readonly audit: AuditTrail,
  ) {
    super();
  }

  list(): Promise<PayoutPolicy[]> {
    return this.policies.all();
  }

  /** Checks every policy (all problems at once, nothing written on any), then replaces the set. */
  async replace(inputs: PayoutPolicyInputDto[], by: AuditActor & { keyId: string }): Promise<PayoutPolicy[]> {
    const problems: FieldProblem[] = [];
    const drafts = inputs.map((input, index) => toDraft(input, `policies[${index}]`, problems));
    const seen = new Map<string, number>();
    drafts.forEach((draft, index) => {
      const key = scopeKey(draft.scope);
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push({
          field: `policies[${index}]`,
          code: 'DUPLICATE_SCOPE',
          message: `has the same currency, provider, environment and apiKeyId as policies[${first}]; merge the two`,
        });
      } else {
        seen.set(key, index);
      }
    });
    if (problems.length > 0) throw ApiError.validation(problems);
    const { before, after } = await this.policies.replaceAll(drafts, by.keyId, (transaction, old, replaced) =>
      this.audit.record(transaction, {
        action: 'payout_policies.replaced',
        subjectType: 'payout_policies',
        subjectId: null,
        actor: by,
        detail: { before: old.map(describe), after: replaced.map(describe) },
      }),
    );
    this.logger.log({ by: by.keyId, before: before.length, after: after.length }, 'payout policies replaced');
    return after.sort((a, b) => scopeKey(a.scope).localeCompare(scopeKey(b.scope)));
  }

  lockGoverning(transaction: Transaction, payout: PolicyScope): Promise<PayoutPolicy[]> {
    return this.policies.lockGoverning(transaction, payout);
  }
}

/** A policy as the audit trail keeps it: its scope and rules, without the bookkeeping. */
function describe(policy: PayoutPolicy): Record<string, unknown> {
  return {
    scope: policy.scope,
    maxAmountPerPayout: policy.maxAmountPerPayout,
    rolling24h: policy.rolling24h,
    approval: policy.approval,
  };
}

function toDraft(input: PayoutPolicyInputDto, field: string, problems: FieldProblem[]): PolicyDraft {
  const currency = input.currency;
  const knownCurrency = isCurrency(currency);
  if (!knownCurrency) {
    problems.push({
      field: `${field}.currency`,
      code: 'UNKNOWN_CURRENCY',
      message: 'must be an ISO 4217 currency code',
    });
  }
  if (
    input.provider &&
    input.environment &&
    !(ENVIRONMENTS[input.provider] as readonly string[]).includes(input.environment)
  ) {
    problems.push({
      field: `${field}.environment`,
      code: 'NOT_AN_ENVIRONMENT_OF_PROVIDER',
      message: `must be one of ${ENVIRONMENTS[input.provider].join(', ')} for ${input.provider}`,
    });
  }
  const amount = (name: string, value: string | undefined): string | null => {
    if (value === undefined || !knownCurrency) return value ?? null;
    const checked = checkAmount(`${field}.${name}`, value, currency);
    if ('problem' in checked) {
      problems.push(checked.problem);
      return null;
    }
    return checked.amount;
  };
  const maxAmountPerPayout = amount('maxAmountPerPayout', input.maxAmountPerPayout);
  const rolling = input.rolling24h;
  if (rolling && rolling.maxAmount === undefined && rolling.maxCount === undefined) {
    problems.push({
      field: `${field}.rolling24h`,
      code: 'EMPTY_RULE',
      message: 'must set maxAmount, maxCount or both; omit rolling24h for no rolling limit',
    });
  }
  const approval = input.approval;
  if (approval && approval.atOrAbove === undefined && !approval.firstPayoutToBeneficiary && !approval.everyPayout) {
    problems.push({
      field: `${field}.approval`,
      code: 'EMPTY_RULE',
      message: 'must set atOrAbove, firstPayoutToBeneficiary or everyPayout; omit approval for no approvals',
    });
  }
  const draft: PolicyDraft = {
    scope: {
      currency,
      provider: input.provider ?? null,
      environment: input.environment ?? null,
      apiKeyId: input.apiKeyId?.toLowerCase() ?? null,
    },
    maxAmountPerPayout,
    rolling24h: {
      maxAmount: amount('rolling24h.maxAmount', rolling?.maxAmount),
      maxCount: rolling?.maxCount ?? null,
    },
    approval: approval
      ? {
          atOrAbove: amount('approval.atOrAbove', approval.atOrAbove),
          firstPayoutToBeneficiary: approval.firstPayoutToBeneficiary ?? false,
          everyPayout: approval.everyPayout ?? false,
          requiredApprovals: approval.requiredApprovals ?? 1,
        }
      : null,
  };
  if (!input.maxAmountPerPayout && !rolling && !approval) {
    problems.push({
      field,
      code: 'EMPTY_POLICY',
      message: 'sets no limit and no approval rule; add maxAmountPerPayout, rolling24h or approval, or leave it out',
    });
  }
  return draft;
}
