/** One entry of a payout's append-only history: a transition or a provider exchange (beneficiaries masked). */
export interface PayoutHistoryEntry {
  id: string;
  type: string;
  fromStatus: string | null;
  toStatus: string | null;
  detail: Record<string, unknown>;
  occurredAt: Date;
}
