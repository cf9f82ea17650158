import type { SealedSecret } from '../../credentials/crypto/envelope';

/** A subscription as the events module works with it; its signing secret stays sealed. */
export interface EventSubscription {
  id: string;
  url: string;
  events: string[];
  secretLastFour: string;
  sealedSecret: SealedSecret;
  createdAt: Date;
  createdByKeyId: string | null;
  disabledAt: Date | null;
}

export type NewEventSubscription = Omit<EventSubscription, 'createdAt' | 'disabledAt'>;
