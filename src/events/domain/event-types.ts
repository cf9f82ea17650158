import { randomUUID } from 'node:crypto';

/**
 * Every event type a subscription can choose. Never rename one (receivers branch on it); add new
 * ones. `payout.status_changed` reports every move; the others are the moments receivers most
 * often wait for, so they need not filter status_changed themselves.
 */
export const EVENT_TYPES = [
  'payout.status_changed',
  'payout.created',
  'payout.pending_approval',
  'payout.completed',
  'payout.failed',
  'payout.rejected',
  'payout.cancelled',
  'batch.completed',
  'credential.expiring',
  'credential.expired',
  'credential.rotated',
  'credential.renewal_due',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Sent by POST /v1/event-subscriptions/{id}/ping to that subscription only, whatever it chose. */
export const PING_EVENT = 'ping';

/** The payout statuses that have their own event (their final states). */
export const FINAL_PAYOUT_EVENTS: Readonly<Record<string, EventType>> = {
  completed: 'payout.completed',
  failed: 'payout.failed',
  rejected: 'payout.rejected',
  cancelled: 'payout.cancelled',
};

/** One event ready for the outbox: its type and the payload each subscription receives. */
export interface OutboxEvent {
  type: EventType | typeof PING_EVENT;
  payload: Record<string, unknown>;
}

/** An event as the outbox stores it and receivers get it: its own id, its type, when it happened, and the data. */
export function eventEnvelope(type: OutboxEvent['type'], data: Record<string, unknown>): OutboxEvent {
  return { type, payload: { id: randomUUID(), type, occurredAt: new Date().toISOString(), data } };
}
