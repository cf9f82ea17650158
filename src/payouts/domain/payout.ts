import type {
  Beneficiary,
  Money,
  Provider,
  ProviderEnvironment,
  ProviderPayoutState,
} from '../../providers/provider.port';
import { descriptorOf } from '../../providers/provider-catalogue';
import type { SealedBeneficiary } from '../beneficiary/payout-beneficiaries';

/**
 * One state machine for every provider. `unknown` means the provider's answer was lost (timeout,
 * reset, dropped response): the reconciler finds out, nothing is sent blindly again.
 */
export const PAYOUT_STATUSES = [
  'pending_approval',
  'requested',
  'submitted',
  'pending',
  'processing',
  'on_hold',
  'completed',
  'failed',
  'rejected',
  'cancelled',
  'unknown',
] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

export const TERMINAL: ReadonlySet<PayoutStatus> = new Set(['completed', 'failed', 'rejected', 'cancelled']);
/** Statuses the reconciler keeps polling. */
export const OPEN: readonly PayoutStatus[] = ['requested', 'submitted', 'pending', 'processing', 'on_hold', 'unknown'];

/** How far along a payout is; an update may never lower it (on_hold and pending are siblings). */
const PROGRESS: Record<PayoutStatus, number> = {
  pending_approval: 0,
  requested: 0,
  unknown: 0,
  submitted: 1,
  pending: 2,
  on_hold: 2,
  processing: 3,
  completed: 4,
  failed: 4,
  rejected: 4,
  cancelled: 4,
};

const ALLOWED: Record<PayoutStatus, readonly PayoutStatus[]> = {
  // Not sent to any provider yet, so no provider report can move it: approval (to requested) and
  // rejection, expiry or cancellation (to cancelled) are our own decisions, made by PayoutApprovals.
  pending_approval: [],
  requested: [
    'submitted',
    'pending',
    'processing',
    'on_hold',
    'completed',
    'failed',
    'rejected',
    'cancelled',
    'unknown',
  ],
  unknown: ['submitted', 'pending', 'processing', 'on_hold', 'completed', 'failed', 'rejected', 'cancelled'],
  submitted: ['pending', 'processing', 'on_hold', 'completed', 'failed', 'rejected', 'cancelled', 'unknown'],
  pending: ['processing', 'on_hold', 'completed', 'failed', 'rejected', 'cancelled'],
  on_hold: ['pending', 'processing', 'completed', 'failed', 'rejected', 'cancelled'],
  processing: ['completed', 'failed', 'rejected'],
  // Out of a final status only by a reversal a provider documents (its descriptor's `reversals`):
  // a bank's return of a completed payout. Illegal for a provider that does not document it.
  completed: ['rejected'],
  failed: [],
  rejected: [],
  cancelled: [],
};

export type TransitionVerdict = 'apply' | 'same' | 'stale' | 'illegal';

/** A documented way out of a final status, as a provider's descriptor declares it. */
export interface Reversal {
  from: PayoutStatus;
  to: PayoutStatus;
}

/**
 * Decides what to do with a status a provider reports, under that provider's documented
 * reversals. Late or reordered reports that would move the payout backwards are 'stale'
 * (recorded, not applied). The only ways out of a final status are the reversals given.
 */
export function judgeTransitionUnder(
  reversals: readonly Reversal[],
  from: PayoutStatus,
  to: PayoutStatus,
): TransitionVerdict {
  if (from === to) return 'same';
  if (TERMINAL.has(from) && ALLOWED[from].includes(to)) {
    return reversals.some((reversal) => reversal.from === from && reversal.to === to) ? 'apply' : 'illegal';
  }
  if (!ALLOWED[from].includes(to)) return PROGRESS[to] < PROGRESS[from] || TERMINAL.has(from) ? 'stale' : 'illegal';
  if (PROGRESS[to] < PROGRESS[from]) return 'stale';
  return 'apply';
}

/** judgeTransitionUnder with the reversals the provider's descriptor declares. */
export function judgeTransition(provider: Provider, from: PayoutStatus, to: PayoutStatus): TransitionVerdict {
  return judgeTransitionUnder(descriptorOf(provider).reversals, from, to);
}

/**
 * Whether a provider could still report a change we would apply: any open payout that was sent,
 * and a final one with a documented way out.
 */
export function mayStillChange(provider: Provider, status: PayoutStatus): boolean {
  // Not sent yet: no provider has it, so nothing it says can change it (see ALLOWED).
  if (status === 'pending_approval') return false;
  return !TERMINAL.has(status) || PAYOUT_STATUSES.some((to) => judgeTransition(provider, status, to) === 'apply');
}

const MAY_CHANGE = new Map<Provider, readonly PayoutStatus[]>();

/** Every status in which mayStillChange holds for this provider (computed once per provider). */
export function statusesThatMayChange(provider: Provider): readonly PayoutStatus[] {
  let statuses = MAY_CHANGE.get(provider);
  if (!statuses) {
    statuses = PAYOUT_STATUSES.filter((status) => mayStillChange(provider, status));
    MAY_CHANGE.set(provider, statuses);
  }
  return statuses;
}

export function fromProviderState(state: ProviderPayoutState): PayoutStatus {
  return state;
}

export interface Payout {
  id: string;
  provider: Provider;
  environment: ProviderEnvironment;
  status: PayoutStatus;
  amount: Money;
  /** What answers and the history show: account numbers, documents and card tokens by their last four characters. */
  beneficiary: MaskedBeneficiary;
  /** The full beneficiary, closed: only PayoutBeneficiaries.open() gets it out, for the provider call. */
  sealedBeneficiary: SealedBeneficiary;
  reference: string | null;
  metadata: Record<string, string>;
  providerReference: string | null;
  providerStatus: string | null;
  failureCode: string | null;
  failureReason: string | null;
  fees: Money | null;
  createdAt: Date;
  updatedAt: Date;
  createdByKeyId: string | null;
  /** Distinct approvers it needs before it is sent; 0 when no approval rule caught it. */
  approvalsRequired: number;
  /** While pending_approval: when it is cancelled unless approved. */
  approvalExpiresAt: Date | null;
  /** Asked to be created parked at the provider (on_hold until released). */
  holdOnCreate: boolean;
}

/**
 * A payout as lists and exports show it: all of it but the sealed beneficiary, which only a
 * provider call opens (so a page of payouts never carries their ciphertexts).
 */
export type PayoutView = Omit<Payout, 'sealedBeneficiary'>;

/** The beneficiary as answers, the history and the readable payouts.beneficiary column hold it. */
export type MaskedBeneficiary =
  | {
      type: 'latam_bank_account';
      country: string;
      name: string;
      documentId?: string;
      bankCode?: number;
      bankAccount?: string;
      /** Masked; only when paid to a key (no bank account): a PIX key or a wallet's number. */
      phone?: string;
      email?: string;
    }
  | { type: 'iban'; name: string; iban?: string; bic?: string }
  | { type: 'card'; cardToken?: string };

/**
 * An IBAN, document, bank account or card token by its last four characters only, and a short one
 * by at most half of it, so that the mask is never the whole value.
 */
export function maskValue(value: string): string {
  return `…${value.slice(value.length - Math.min(4, Math.floor(value.length / 2)))}`;
}

/** The beneficiary as answers and the history show it. */
export function maskBeneficiary(beneficiary: Beneficiary): MaskedBeneficiary {
  const mask = (value?: string) => (value ? maskValue(value) : undefined);
  switch (beneficiary.type) {
    case 'iban':
      return { type: 'iban', name: beneficiary.name, iban: mask(beneficiary.iban), bic: beneficiary.bic };
    case 'card':
      return { type: 'card', cardToken: mask(beneficiary.cardToken) };
    default:
      return {
        type: beneficiary.type,
        country: beneficiary.country,
        name: beneficiary.name,
        documentId: mask(beneficiary.documentId),
        // Not secret, and it says which bank, wallet or kind of key was paid.
        ...(beneficiary.bankCode === undefined ? {} : { bankCode: beneficiary.bankCode }),
        bankAccount: mask(beneficiary.bankAccount),
        ...(beneficiary.bankAccount === undefined && beneficiary.phone !== undefined
          ? { phone: mask(beneficiary.phone) }
          : {}),
        ...(beneficiary.bankAccount === undefined && beneficiary.phone === undefined && beneficiary.email !== undefined
          ? { email: mask(beneficiary.email) }
          : {}),
      };
  }
}

/** Whether the state machine can express a reversal at all (a descriptor may only declare these). */
export function isExpressibleReversal(reversal: Reversal): boolean {
  return TERMINAL.has(reversal.from) && ALLOWED[reversal.from].includes(reversal.to);
}
