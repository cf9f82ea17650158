import type { SealedSecret } from '../../credentials/crypto/envelope';

/** A subscription as the events module works with it; its signing secrets stay sealed. */
export interface EventSubscription {
  id: string;
  url: string;
  events: string[];
  secretLastFour: string;
  sealedSecret: SealedSecret;
  /** The secret a rotation replaced, still signing beside the current one until previousSecretExpiresAt. */
  previousSealedSecret: SealedSecret | null;
  previousSecretExpiresAt: Date | null;
  secretRotatedAt: Date | null;
  createdAt: Date;
  createdByKeyId: string | null;
  disabledAt: Date | null;
}

export type NewEventSubscription = Omit<
  EventSubscription,
  'createdAt' | 'disabledAt' | 'previousSealedSecret' | 'previousSecretExpiresAt' | 'secretRotatedAt'
>;

/**
 * Where one delivery stands. `failed`: every attempt was made and none was accepted (redeliver to
 * try again); `stopped`: its subscription was disabled before it was accepted.
 */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'stopped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event sent (or to be sent) to one subscription, with how its attempts went. */
export interface EventDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  lastAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  redeliveryOf: string | null;
}
