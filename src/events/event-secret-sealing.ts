import { rewrap, type SealedSecret, unlessUnopenable } from '../credentials/crypto/envelope';
import type { MasterKeyring } from '../credentials/crypto/master-keyring';
import type { OutboundEventsRepository } from './persistence/outbound-events.repository';

/** How many subscriptions one read of the re-wrap takes. */
const REWRAP_BATCH = 100;

/** The sealing context of a subscription's replaced secret: never the current one's, so the two cannot be swapped. */
export function previousSecretContext(subscriptionId: string): string {
  return `${subscriptionId}/previous`;
}

/**
 * Re-wraps every event subscription's signing secrets (the current one, and a replaced one still
 * stored) under the keyring's current master key: part of `npm run
 * credentials:rotate-master-key`. Without it, removing CREDENTIALS_MASTER_KEY_PREVIOUS leaves the
 * secrets unopenable and no event can be signed. Disabled subscriptions too: every data key ends
 * under the current key. Each row is written only if its wrapped keys are still the ones read,
 * so a secret rotated meanwhile (sealed under the current key already) is never overwritten.
 * Safe to run twice and beside running replicas. A secret no key of the keyring opens (sealed under
 * a key already removed) is skipped and named in `unopenable`: the rest are still re-wrapped.
 * Answers how many subscriptions it re-wrapped.
 */
export async function rewrapEventSecrets(
  repository: OutboundEventsRepository,
  keyring: MasterKeyring,
  unopenable: string[] = [],
): Promise<number> {
  const current = keyring.current.id;
  const underOtherKey = (sealed: SealedSecret | null): sealed is SealedSecret =>
    sealed !== null && sealed.masterKeyId !== current;
  let count = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await repository.secretsSealedUnderOtherKey(current, after, REWRAP_BATCH);
    if (batch.length === 0) return count;
    for (const row of batch) {
      const rewrapOrSkip = (context: string, sealed: SealedSecret) => {
        const to = unlessUnopenable(() => rewrap(keyring, context, sealed));
        // A disabled subscription never signs again: its secret being lost stops nothing.
        if (!to && !row.disabled)
          unopenable.push(`event subscription ${row.id}${context === row.id ? '' : ' (replaced secret)'}`);
        return to && { from: sealed, to };
      };
      const written = await repository.storeRewrappedSecrets(row.id, {
        current: underOtherKey(row.sealedSecret) ? rewrapOrSkip(row.id, row.sealedSecret) : null,
        previous: underOtherKey(row.previousSealedSecret)
          ? rewrapOrSkip(previousSecretContext(row.id), row.previousSealedSecret)
          : null,
      });
      if (written) count += 1;
    }
    after = batch[batch.length - 1].id;
  }
}
