import { HttpStatus, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ApiError } from '../common/errors/api-error';
import { Transaction, UnitOfWork } from '../database/unit-of-work';
import { open, rewrap, seal } from './crypto/envelope';
import { MasterKeyring } from './crypto/master-keyring';
import {
  Actor,
  Credential,
  CredentialEvent,
  CredentialKind,
  CredentialStatus,
  EXPIRING_WITHIN_DAYS,
  EXPIRING_WITHIN_DAYS_BY_KIND,
  Provider,
  ProviderEnvironment,
  SecretMaterial,
  SecretOf,
  SYSTEM_ACTOR,
} from './domain/credential';
import { secretOfKind } from './domain/secret-shapes';
import { eventEnvelope } from '../events/domain/event-types';
import { writeToOutbox } from '../events/persistence/outbound-events.repository';
import { ChangeSubscription, CredentialChangesChannel } from './persistence/credential-changes.channel';
import { CredentialsRepository } from './persistence/credentials.repository';

export interface CredentialChange {
  credentialId: string;
  provider: Provider;
  environment: ProviderEnvironment;
  kind: CredentialKind;
  status: CredentialStatus;
}

/** A credential in service with its secret opened, for the provider clients. Keep it in memory only. */
export interface ActiveCredential<K extends CredentialKind = CredentialKind> {
  credential: Credential;
  secret: SecretOf<K>;
}

/**
 * What an operator must do before a credential in its last days stops working, and, where it can
 * be prepared here, its successor: a provider that signs our CSR (mTLS certificates) gets the next
 * key and CSR generated under the same subject, stored pending, ready to be sent.
 */
export interface RenewalPlan {
  /** One or two sentences: what to send to whom, and where to import what comes back. */
  action: string;
  /** The pending successor and its secret (the new private key), when one can be prepared here. */
  successor?: { credential: NewCredential; secret: SecretMaterial };
  /** Public facts for the event (a CSR's common name, the CSR itself). Never a secret. */
  facts?: Record<string, string>;
}

export type NewCredential = Omit<
  Credential,
  | 'expiresAt'
  | 'id'
  | 'status'
  | 'createdAt'
  | 'createdByKeyId'
  | 'activatedAt'
  | 'rotatedAt'
  | 'replacesId'
  | 'replacedById'
  | 'revokedAt'
  | 'revokedByKeyId'
> & { expiresAt?: Date | null };

/** A new credential that is only a secret (no certificate, CSR or public key). */
export function secretOnlyCredential<K extends CredentialKind>(
  fields: Pick<Credential, 'provider' | 'environment' | 'label' | 'hints'> & {
    kind: K;
    attributes?: Record<string, string>;
    expiresAt?: Date;
  },
): NewCredential & { kind: K } {
  return {
    attributes: {},
    certificate: null,
    keyAlgorithm: null,
    csrPem: null,
    certificatePem: null,
    chainPem: null,
    caPem: null,
    publicKeyPem: null,
    ...fields,
  };
}

export interface CredentialFilter {
  provider?: Provider;
  environment?: ProviderEnvironment;
  kind?: CredentialKind;
  status?: CredentialStatus;
  expiringWithinDays?: number;
}

const DAY_MS = 86_400_000;

/**
 * The vault: stores credentials with their secrets sealed, swaps the one in service atomically,
 * keeps the audit trail, and tells provider clients when what they hold changed (in this process
 * directly, and in other replicas through PostgreSQL LISTEN/NOTIFY).
 */
@Injectable()
export class CredentialVault implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CredentialVault');
  private readonly changes = new EventEmitter();
  private listener: ChangeSubscription | undefined;
  private closed = false;

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly credentials: CredentialsRepository,
    private readonly changeChannel: CredentialChangesChannel,
    private readonly keyring: MasterKeyring,
  ) {
    this.changes.setMaxListeners(100);
  }

  async onModuleInit(): Promise<void> {
    await this.listenForOtherReplicas({ afterLoss: false });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.listener?.close().catch(() => undefined);
  }

  /** Called with every change to a credential's status (activation, rotation, expiry, revocation). */
  onChange(listener: (change: CredentialChange) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /**
   * Called when changes may have been missed: the listener for other replicas' changes lost its
   * connection and has it again, and what was committed in between was never heard. Whatever was
   * read from the vault is to be read again (a credential revoked meanwhile must not stay usable).
   */
  onResync(listener: () => void): () => void {
    this.changes.on('resync', listener);
    return () => this.changes.off('resync', listener);
  }

  /** Stores a new credential (pending, or put in service at once with `activate: true`) with its secret sealed. */
  async create<K extends CredentialKind>(
    input: NewCredential & { kind: K },
    secret: SecretOf<K> | null,
    actor: Actor,
    { activate }: { activate: boolean },
  ): Promise<Credential> {
    const id = randomUUID();
    // Checked before anything is stored: a secret that does not fit its kind could never be used.
    const plaintext = secret ? Buffer.from(JSON.stringify(secretOfKind(input.kind, secret)), 'utf8') : null;
    const { credential, change } = await this.unitOfWork.run(async (transaction) => {
      const created = await this.credentials.insert(transaction, {
        ...input,
        expiresAt: input.expiresAt ?? null,
        id,
        status: 'pending',
        createdByKeyId: actor.keyId,
        activatedAt: null,
        rotatedAt: null,
        replacesId: null,
        replacedById: null,
        revokedAt: null,
        revokedByKeyId: null,
      });
      if (plaintext) await this.credentials.insertSecret(transaction, id, seal(this.keyring, id, plaintext));
      await this.audit(transaction, id, 'created', actor, {
        provider: input.provider,
        environment: input.environment,
        kind: input.kind,
      });
      if (!activate) return { credential: created, change: null };
      return this.putInService(transaction, id, {}, actor);
    });
    if (change) this.emitLocally(change);
    return credential;
  }

  /**
   * Puts a pending credential in service, with the public material that completes it (e.g. the
   * signed certificate). The one it replaces is retired in the same transaction.
   */
  async activate(id: string, completion: Partial<NewCredential>, actor: Actor): Promise<Credential> {
    const { credential, change } = await this.unitOfWork.run((transaction) =>
      this.putInService(transaction, id, completion, actor),
    );
    this.emitLocally(change);
    return credential;
  }

  async get(id: string): Promise<Credential> {
    const credential = await this.credentials.findById(id);
    if (!credential) throw ApiError.notFound('credential', id);
    return credential;
  }

  async list(filter: CredentialFilter): Promise<Credential[]> {
    const { expiringWithinDays, ...query } = filter;
    return this.credentials.list({
      ...query,
      inServiceExpiringBy:
        expiringWithinDays !== undefined ? new Date(Date.now() + expiringWithinDays * DAY_MS) : undefined,
    });
  }

  /** Credentials of one provider in other environments, for cross-environment rules. */
  async findByAttribute(
    provider: Provider,
    kind: CredentialKind,
    attribute: string,
    value: string,
  ): Promise<Credential[]> {
    return this.credentials.findByAttribute(provider, kind, attribute, value);
  }

  async revoke(id: string, actor: Actor): Promise<Credential> {
    return this.endService(id, 'revoked', actor);
  }

  async retire(id: string, actor: Actor): Promise<Credential> {
    return this.endService(id, 'retired', actor);
  }

  async events(id: string): Promise<CredentialEvent[]> {
    await this.get(id);
    return this.credentials.events(id);
  }

  /**
   * Opens a credential's secret, checked to be of the given kind. For the provider clients and the
   * vault's own flows only.
   */
  async openSecret<K extends CredentialKind>(id: string, kind: K): Promise<SecretOf<K>> {
    const stored = await this.credentials.findSecret(id);
    if (!stored)
      throw new ApiError(HttpStatus.CONFLICT, 'CREDENTIAL_HAS_NO_SECRET', `Credential ${id} holds no secret material.`);
    return secretOfKind(kind, JSON.parse(open(this.keyring, id, stored.sealed).toString('utf8')));
  }

  /** The credential in service for provider + environment + kind, with its secret opened; null when none. */
  async activeMaterial<K extends CredentialKind>(
    provider: Provider,
    environment: ProviderEnvironment,
    kind: K,
  ): Promise<ActiveCredential<K> | null> {
    const credential = await this.credentials.findInService(provider, environment, kind);
    if (!credential) return null;
    return { credential, secret: await this.openSecret(credential.id, kind) };
  }

  /**
   * Moves certificates in service to expiring (within 30 days) or expired, and back to active
   * when a date was corrected. Idempotent, so every replica may run it.
   */
  async refreshExpiry(now = new Date()): Promise<CredentialChange[]> {
    const changes: CredentialChange[] = [];
    await this.unitOfWork.run(async (transaction) => {
      for (const credential of await this.credentials.lockInServiceWithExpiry(transaction)) {
        const status = statusForValidity(credential.expiresAt as Date, now, credential.kind);
        if (status === credential.status) continue;
        await this.credentials.updateLifecycle(transaction, credential.id, { status });
        await this.audit(transaction, credential.id, status === 'active' ? 'validity_restored' : status, SYSTEM_ACTOR, {
          from: credential.status,
          notAfter: credential.expiresAt?.toISOString(),
        });
        const change = changeOf({ ...credential, status });
        changes.push(change);
        await this.notify(transaction, change);
        if (status === 'expiring' || status === 'expired')
          await writeToOutbox(transaction, [eventEnvelope(`credential.${status}`, credentialEventData(credential))]);
      }
    });
    changes.forEach((change) => this.emitLocally(change));
    return changes;
  }

  /** Whether a renewal was already recorded for the credential (a cheap check before preparing one). */
  async renewalRecorded(credentialId: string): Promise<boolean> {
    return (await this.credentials.events(credentialId)).some((event) => event.type === 'renewal_due');
  }

  /**
   * Records the renewal of a credential once: the plan is prepared first (a key pair takes a
   * while, and nothing is stored by it), then, under the credential's row lock, unless another
   * replica recorded one meanwhile: the pending successor with its sealed key, `renewal_due` in
   * the trail, and `credential.renewal_due` in the outbox, in one transaction. False when it was
   * already recorded (the prepared key is dropped).
   */
  async recordRenewal(
    credentialId: string,
    prepare: (current: Credential, successorId: string) => Promise<RenewalPlan>,
  ): Promise<boolean> {
    const current = await this.credentials.findById(credentialId);
    if (!current) return false;
    const successorId = randomUUID();
    const plan = await prepare(current, successorId);
    const plaintext = plan.successor
      ? Buffer.from(JSON.stringify(secretOfKind(plan.successor.credential.kind, plan.successor.secret)), 'utf8')
      : null;
    return this.unitOfWork.run(async (transaction) => {
      const locked = await this.credentials.lockById(transaction, credentialId);
      // Re-read under the lock: a credential revoked or rotated since the job listed it is not
      // renewed; one that expired meanwhile (the job did not run for a while) still is.
      if (!locked || (locked.status !== 'expiring' && locked.status !== 'expired')) return false;
      if (await this.credentials.hasEvent(transaction, credentialId, 'renewal_due')) return false;
      if (plan.successor && plaintext) {
        await this.credentials.insert(transaction, {
          ...plan.successor.credential,
          attributes: { ...plan.successor.credential.attributes, renews: credentialId },
          expiresAt: plan.successor.credential.expiresAt ?? null,
          id: successorId,
          status: 'pending',
          createdByKeyId: null,
          activatedAt: null,
          rotatedAt: null,
          replacesId: null,
          replacedById: null,
          revokedAt: null,
          revokedByKeyId: null,
        });
        await this.credentials.insertSecret(transaction, successorId, seal(this.keyring, successorId, plaintext));
        await this.audit(transaction, successorId, 'created', SYSTEM_ACTOR, {
          provider: locked.provider,
          environment: locked.environment,
          kind: locked.kind,
          renews: credentialId,
        });
      }
      const details = {
        action: plan.action,
        ...(plan.successor ? { successorId } : {}),
        ...plan.facts,
      };
      await this.audit(transaction, credentialId, 'renewal_due', SYSTEM_ACTOR, details);
      await writeToOutbox(transaction, [
        eventEnvelope('credential.renewal_due', { ...credentialEventData(locked), ...details }),
      ]);
      return true;
    });
  }

  /** Re-wraps every data key under the current master key. Returns how many were re-wrapped. */
  async rewrapAll(actor: Actor): Promise<number> {
    let count = 0;
    for (;;) {
      const done = await this.unitOfWork.run(async (transaction) => {
        const rows = await this.credentials.lockSecretsNotUnder(transaction, this.keyring.current.id, 100);
        for (const row of rows) {
          const rewrapped = rewrap(this.keyring, row.credentialId, row.sealed);
          await this.credentials.storeRewrappedKey(transaction, row.credentialId, rewrapped);
          await this.audit(transaction, row.credentialId, 'data_key_rewrapped', actor, {
            from: row.sealed.masterKeyId,
            to: rewrapped.masterKeyId,
          });
        }
        count += rows.length;
        return rows.length === 0;
      });
      if (done) return count;
    }
  }

  /** Records an event about a credential outside a larger transaction. */
  async recordEvent(credentialId: string, type: string, actor: Actor, details: Record<string, unknown>): Promise<void> {
    await this.audit(undefined, credentialId, type, actor, details);
  }

  /** Appends to the audit trail, in the given transaction (or on its own). */
  async audit(
    transaction: Transaction | undefined,
    credentialId: string | null,
    type: string,
    actor: Actor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.credentials.appendEvent(
      transaction,
      { credentialId, type, actorKeyId: actor.keyId, actorName: actor.name, details },
      actor.principal ?? (actor.keyId ? `key:${actor.keyId}` : null),
    );
  }

  private async putInService(
    transaction: Transaction,
    id: string,
    completion: Partial<NewCredential>,
    actor: Actor,
  ): Promise<{ credential: Credential; change: CredentialChange }> {
    const current = await this.credentials.lockById(transaction, id);
    if (!current) throw ApiError.notFound('credential', id);
    if (current.status !== 'pending') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'CREDENTIAL_NOT_PENDING',
        `Credential ${id} is ${current.status}; only a pending credential can be activated. Start a new one instead.`,
        { status: current.status },
      );
    }
    // One slot per provider + environment + kind: serialise everybody activating into it.
    await this.credentials.lockServiceSlot(transaction, current);
    const now = new Date();
    const previous = await this.credentials.findInService(
      current.provider,
      current.environment,
      current.kind,
      transaction,
    );
    if (previous) {
      await this.credentials.updateLifecycle(transaction, previous.id, {
        status: 'retired',
        rotatedAt: now,
        replacedById: current.id,
      });
      await this.audit(transaction, previous.id, 'rotated_out', actor, { replacedById: current.id });
    }
    const credential = await this.credentials.replace(transaction, {
      ...current,
      ...completion,
      status:
        current.expiresAt || completion.certificate
          ? statusForValidity((completion.certificate?.notAfter ?? current.expiresAt) as Date, now, current.kind)
          : 'active',
      activatedAt: now,
      replacesId: previous?.id ?? null,
    });
    await this.audit(
      transaction,
      credential.id,
      previous ? 'rotated_in' : 'activated',
      actor,
      previous ? { replacesId: previous.id } : {},
    );
    const change = changeOf(credential);
    await this.notify(transaction, change);
    if (previous)
      await writeToOutbox(transaction, [
        eventEnvelope('credential.rotated', { ...credentialEventData(credential), replacesId: previous.id }),
      ]);
    return { credential, change };
  }

  private async endService(id: string, status: 'revoked' | 'retired', actor: Actor): Promise<Credential> {
    const { credential, change } = await this.unitOfWork.run(async (transaction) => {
      const current = await this.credentials.lockById(transaction, id);
      if (!current) throw ApiError.notFound('credential', id);
      if (current.status === 'revoked' || (current.status === 'retired' && status === 'retired')) {
        return { credential: current, change: null };
      }
      const now = new Date();
      const update =
        status === 'revoked' ? { status, revokedAt: now, revokedByKeyId: actor.keyId } : { status, rotatedAt: now };
      await this.credentials.updateLifecycle(transaction, id, update);
      const ended: Credential = { ...current, ...update };
      await this.audit(transaction, id, status, actor);
      const change = changeOf(ended);
      await this.notify(transaction, change);
      return { credential: ended, change };
    });
    if (change) this.emitLocally(change);
    return credential;
  }

  /** Delivered at commit, to every replica listening (including this one's listener). */
  private notify(transaction: Transaction, change: CredentialChange): Promise<void> {
    return this.changeChannel.publish(transaction, JSON.stringify(change));
  }

  private emitLocally(change: CredentialChange): void {
    this.changes.emit('change', change);
  }

  /**
   * Listens for other replicas' changes. At start-up a failure is the caller's; after a lost
   * connection it is tried again every second until it works (it used to be tried once: a database
   * away for longer left the replica deaf to revocations until restarted), and once it works every
   * listener is told to read the vault again (onResync).
   */
  private async listenForOtherReplicas({ afterLoss }: { afterLoss: boolean }): Promise<void> {
    if (this.closed) return;
    let lost = false;
    const subscription = await this.changeChannel.listen(
      (payload) => {
        try {
          this.emitLocally(JSON.parse(payload) as CredentialChange);
        } catch {
          this.logger.warn('ignored a malformed credential change notification');
        }
      },
      (error) => {
        if (lost) return; // one connection, one reconnection
        lost = true;
        this.logger.warn({ error: error.message }, 'credential change listener lost its connection; reconnecting');
        void this.listener?.close().catch(() => undefined);
        this.listener = undefined;
        this.reconnectLater();
      },
    );
    if (!subscription) return;
    if (this.closed || lost) {
      // Shut down while connecting, or lost already: never kept, so never left open.
      await subscription.close().catch(() => undefined);
      return;
    }
    this.listener = subscription;
    if (afterLoss) {
      this.logger.warn('credential change listener reconnected; cached credentials are read again');
      this.changes.emit('resync');
    }
  }

  private reconnectLater(): void {
    setTimeout(() => {
      this.listenForOtherReplicas({ afterLoss: true }).catch((error: unknown) => {
        this.logger.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'credential change listener could not reconnect; trying again in a second',
        );
        this.reconnectLater();
      });
    }, 1_000).unref();
  }
}

function statusForValidity(notAfter: Date, now: Date, kind: CredentialKind): CredentialStatus {
  if (notAfter.getTime() <= now.getTime()) return 'expired';
  const warnDays = EXPIRING_WITHIN_DAYS_BY_KIND[kind] ?? EXPIRING_WITHIN_DAYS;
  if (notAfter.getTime() - now.getTime() <= warnDays * DAY_MS) return 'expiring';
  return 'active';
}

/** What credential events tell receivers: which credential, where, and until when; never secret material. */
function credentialEventData(credential: Credential): Record<string, unknown> {
  return {
    credentialId: credential.id,
    provider: credential.provider,
    environment: credential.environment,
    kind: credential.kind,
    label: credential.label,
    expiresAt: credential.expiresAt?.toISOString() ?? null,
  };
}

function changeOf(credential: Credential): CredentialChange {
  return {
    credentialId: credential.id,
    provider: credential.provider,
    environment: credential.environment,
    kind: credential.kind,
    status: credential.status,
  };
}
