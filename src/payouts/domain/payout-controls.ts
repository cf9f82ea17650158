import type { Money, Provider, ProviderEnvironment } from '../../providers/provider.port';
import { currencyDecimals } from './money';

/**
 * Money-out controls: the limits and approval rules of payout policies, decided here from plain
 * values (no HTTP, no SQL). A policy governs the payouts of its currency, narrowed by any of
 * provider, environment and API key it names; a payout is governed by every policy whose scope
 * it falls in, and must pass all of them.
 */
export interface PolicyScope {
  currency: string;
  provider: Provider | null;
  environment: ProviderEnvironment | null;
  apiKeyId: string | null;
}

export interface ApprovalRule {
  /** Payouts of at least this amount need approval. */
  atOrAbove: string | null;
  /** A payout to an account no earlier payout in the policy's scope was completed to needs approval. */
  firstPayoutToBeneficiary: boolean;
  /** Every payout in the scope needs approval (e.g. a whole provider or environment). */
  everyPayout: boolean;
  /** Distinct approvers needed (N of the M keys holding payouts:approve), other than the creator. */
  requiredApprovals: number;
}

export interface PayoutPolicy {
  id: string;
  scope: PolicyScope;
  maxAmountPerPayout: string | null;
  rolling24h: { maxAmount: string | null; maxCount: number | null };
  approval: ApprovalRule | null;
  updatedAt: Date;
  updatedByKeyId: string | null;
}

/** What the payouts of a policy's scope used in the last 24 hours (failed, rejected, cancelled excluded). */
export interface RollingUsage {
  amount: string;
  count: number;
}

export type LimitName = 'maxAmountPerPayout' | 'rolling24hAmount' | 'rolling24hCount';

export interface LimitBreach {
  limit: LimitName;
  policy: PayoutPolicy;
  /** The limit itself, as a decimal string (amounts) or a count. */
  max: string | number;
  /** What is used already in the window (rolling limits only). */
  used: string | number | null;
  /** What could still be paid out (amount) or how many more payouts (count) right now. */
  headroom: string | number;
}

/** Amount in the currency's minor units, exactly. Amounts here are normalised decimal strings. */
export function toMinorUnits(amount: string, currency: string): bigint {
  const decimals = currencyDecimals(currency);
  const [whole, fraction = ''] = amount.split('.');
  // Numerics from PostgreSQL carry six decimals; the currency's precision is what counts.
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0').slice(0, decimals) || '0');
}

export function fromMinorUnits(units: bigint, currency: string): string {
  const decimals = currencyDecimals(currency);
  if (decimals === 0) return units.toString();
  const text = units.toString().padStart(decimals + 1, '0');
  return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

export function governs(policy: PayoutPolicy, payout: PolicyScope): boolean {
  const scope = policy.scope;
  return (
    scope.currency === payout.currency &&
    (scope.provider === null || scope.provider === payout.provider) &&
    (scope.environment === null || scope.environment === payout.environment) &&
    (scope.apiKeyId === null || scope.apiKeyId === payout.apiKeyId)
  );
}

export function hasRollingLimit(policy: PayoutPolicy): boolean {
  return policy.rolling24h.maxAmount !== null || policy.rolling24h.maxCount !== null;
}

/**
 * The first limit this payout would break, or null. `usage` holds each rolling policy's usage,
 * read under the policy's row lock so that concurrent payouts are counted one after another.
 * Per-payout limits come first (they do not depend on the others); among the policies, the
 * narrowest scope's breach is named (the one the operator set for this very case).
 */
export function firstLimitBreach(
  policies: readonly PayoutPolicy[],
  amount: Money,
  usage: ReadonlyMap<string, RollingUsage>,
): LimitBreach | null {
  const currency = amount.currency;
  const units = toMinorUnits(amount.amount, currency);
  const ordered = [...policies].sort((a, b) => narrowness(b.scope) - narrowness(a.scope));
  for (const policy of ordered) {
    if (policy.maxAmountPerPayout !== null && units > toMinorUnits(policy.maxAmountPerPayout, currency)) {
      return {
        limit: 'maxAmountPerPayout',
        policy,
        max: policy.maxAmountPerPayout,
        used: null,
        headroom: policy.maxAmountPerPayout,
      };
    }
  }
  for (const policy of ordered) {
    const used = usage.get(policy.id);
    if (!used) continue;
    const { maxAmount, maxCount } = policy.rolling24h;
    if (maxCount !== null && used.count + 1 > maxCount) {
      return {
        limit: 'rolling24hCount',
        policy,
        max: maxCount,
        used: used.count,
        headroom: Math.max(0, maxCount - used.count),
      };
    }
    if (maxAmount !== null) {
      const left = toMinorUnits(maxAmount, currency) - toMinorUnits(used.amount, currency);
      if (units > left) {
        return {
          limit: 'rolling24hAmount',
          policy,
          max: maxAmount,
          used: fromMinorUnits(toMinorUnits(used.amount, currency), currency),
          headroom: fromMinorUnits(left > 0n ? left : 0n, currency),
        };
      }
    }
  }
  return null;
}

/** What a payout needs before it may be sent: 0 approvals (send now) or the most any triggered rule asks. */
export function approvalsRequired(
  policies: readonly PayoutPolicy[],
  amount: Money,
  facts: { firstPayoutToBeneficiary: (policy: PayoutPolicy) => boolean },
): { required: number; reasons: string[] } {
  let required = 0;
  const reasons: string[] = [];
  const units = toMinorUnits(amount.amount, amount.currency);
  for (const policy of policies) {
    const rule = policy.approval;
    if (!rule) continue;
    const triggered: string[] = [];
    if (rule.everyPayout) triggered.push('everyPayout');
    if (rule.atOrAbove !== null && units >= toMinorUnits(rule.atOrAbove, amount.currency)) triggered.push('atOrAbove');
    if (rule.firstPayoutToBeneficiary && facts.firstPayoutToBeneficiary(policy)) {
      triggered.push('firstPayoutToBeneficiary');
    }
    if (triggered.length === 0) continue;
    required = Math.max(required, rule.requiredApprovals);
    for (const reason of triggered) if (!reasons.includes(reason)) reasons.push(reason);
  }
  return { required, reasons };
}

/** The policies that ask about the beneficiary's history (a query worth making only for them). */
export function askingAboutFirstPayout(policies: readonly PayoutPolicy[]): PayoutPolicy[] {
  return policies.filter((policy) => policy.approval?.firstPayoutToBeneficiary === true);
}

function narrowness(scope: PolicyScope): number {
  return (scope.provider ? 1 : 0) + (scope.environment ? 1 : 0) + (scope.apiKeyId ? 2 : 0);
}
