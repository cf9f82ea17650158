import { HttpStatus, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { PeriodicTask } from '../common/periodic-task';
import { ShutdownSignal } from '../common/shutdown/shutdown-signal';
import { Metrics } from '../observability/metrics';
import { Environment } from '../config/environment';
import { open, seal, unlessUnopenable } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import type { Transaction } from '../database/unit-of-work';
import {
  DestinationPolicy,
  DestinationRefusedError,
  DestinationResolver,
  ParsedDestination,
  pinnedLookup,
} from './destination-policy';
import type { DeliveryStatus, EventDelivery, EventSubscription } from './domain/event-subscription';
import { eventEnvelope, EventType, OutboxEvent, PING_EVENT } from './domain/event-types';
import { OutboundEventsRepository } from './persistence/outbound-events.repository';
import { previousSecretContext } from './event-secret-sealing';
import { LogThrottle } from '../common/logging/log-throttle';

export { EVENT_TYPES, type EventType, type OutboxEvent } from './domain/event-types';

/** Deliveries one replica has in flight at most. */
const MAX_IN_FLIGHT = 50;
/**
 * Deliveries one replica has in flight to one subscription at most: a receiver that hangs holds
 * this many connections for DELIVERY_TIMEOUT_MS, not the dispatcher.
 */
const IN_FLIGHT_PER_SUBSCRIPTION = 4;
/** Connect + response, per delivery. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** Only the status matters; a receiver's body is read up to this (to reuse the connection), then cut. */
const RESPONSE_BODY_LIMIT_BYTES = 16 * 1024;
/** Written to lastError when an event's subscription was disabled before it could be delivered. */
export const SUBSCRIPTION_DISABLED = 'subscription disabled';
/** How long a replaced signing secret keeps signing when the caller does not say. */
export const DEFAULT_SECRET_OVERLAP_HOURS = 24;
export const MAX_SECRET_OVERLAP_HOURS = 7 * 24;

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, one v1 per secret: during a
 * rotation's overlap the new secret's first, then the replaced one's. A receiver accepts the
 * event when any v1 matches the secret it holds (and t is recent).
 */
export function eventSignature(secrets: string | readonly string[], timestamp: number, body: string): string {
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  return [`t=${timestamp}`, ...signatures].join(',');
}

function newSigningSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64url');
}

/** What one POST gave: the receiver's status, or why none came, and how long it took. */
interface PostResult {
  status: number | null;
  error: string | null;
  latencyMs: number;
  /** A failure's bounded kind, for outbox_delivery_failures_total: http_4xx, http_5xx, redirect, destination_refused, network. */
  failure?: string;
}

/**
 * Events for internal services: written to an outbox in the same transaction as the change they
 * report, delivered at least once to each subscription, HMAC-signed, retried with back-off.
 * Destinations are checked by DestinationPolicy when subscribed and again on every connection.
 */
@Injectable()
export class OutboundEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OutboundEvents');
  // A pass claims and starts what is due; it does not wait for the deliveries (see refill).
  private readonly dispatcher = new PeriodicTask(
    () => this.periodicPass(),
    (error) => this.reportDispatchError(error),
  );
  /** Deliveries in flight from this replica, and how many per subscription. */
  private readonly sending = new Set<Promise<void>>();
  private readonly inFlightBySubscription = new Map<string, number>();
  /** The claim in progress (one at a time), and whether another was asked for meanwhile. */
  private refilling: Promise<number> | null = null;
  private refillAgain = false;
  /** What the last claim took: a delivery that ends after an empty claim does not claim again. */
  private lastClaimed = 0;
  private stopping = false;
  /** When replaced secrets past their overlap were last forgotten (see periodicPass). */
  private forgottenAt = 0;
  // Pooled connections per scheme. A pooled socket was opened to an address checked at connect time.
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };

  constructor(
    private readonly repository: OutboundEventsRepository,
    private readonly keyring: MasterKeyring,
    private readonly environment: Environment,
    private readonly policy: DestinationPolicy,
    private readonly resolver: DestinationResolver,
    private readonly metrics: Metrics,
    shutdown: ShutdownSignal,
  ) {
    this.checkedLookup = pinnedLookup(policy, (name) => resolver.lookup(name));
    // Deliveries in flight finish (onModuleDestroy waits for them); no new claim of the outbox.
    shutdown.onBegin(() => {
      this.stopping = true;
      void this.dispatcher.stop().catch(() => undefined);
    });
    metrics.onScrape(async () => {
      const { pending, oldestSeconds } = await repository.backlog();
      metrics.outboxBacklog.set(pending);
      metrics.outboxOldestPending.set(oldestSeconds);
    });
  }

  onApplicationBootstrap(): void {
    // A stop that began while the app was starting (SIGTERM during start-up) is not undone.
    if (this.stopping) return;
    this.dispatcher.start(Math.min(this.environment.RECONCILE_INTERVAL_MS, 1_000));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.dispatcher.stop();
    await this.refilling?.catch(() => undefined);
    // Deliveries in flight end (each within DELIVERY_TIMEOUT_MS) and record their attempt.
    await Promise.allSettled([...this.sending]);
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  /** Refuses (422 DESTINATION_NOT_ALLOWED) a URL the destination policy does not allow, before anything is stored. */
  async subscribe(
    url: string,
    events: EventType[],
    createdByKeyId: string | null,
  ): Promise<{ subscription: EventSubscription; secret: string }> {
    try {
      await this.policy.check(url, (host) => this.resolver.lookup(host));
    } catch (error) {
      if (!(error instanceof DestinationRefusedError)) throw error;
      const { code, reason, hint, resolvedAddress } = error.refusal;
      // Not the URL (its path or query may carry something the subscriber considers secret).
      if (resolvedAddress) this.logger.warn({ refusal: code, resolvedAddress }, 'event destination refused');
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.DESTINATION_NOT_ALLOWED,
        `Events cannot be sent to this url: ${reason}. ${hint}`,
        [{ field: 'url', code, message: reason }],
      );
    }
    const id = randomUUID();
    const secret = newSigningSecret();
    const subscription = await this.repository.insertSubscription({
      id,
      url,
      events,
      secretLastFour: secret.slice(-4),
      sealedSecret: seal(this.keyring, id, Buffer.from(secret, 'utf8')),
      createdByKeyId,
    });
    return { subscription, secret };
  }

  list(): Promise<EventSubscription[]> {
    return this.repository.activeSubscriptions();
  }

  /**
   * Stops a subscription at once: dispatch claims only events of active subscriptions, and a
   * delivery already claimed re-reads the subscription before sending. Its undelivered events
   * stay as history, marked with why they stopped.
   */
  async disable(id: string): Promise<void> {
    if (!(await this.repository.disableSubscription(id, SUBSCRIPTION_DISABLED)))
      throw ApiError.notFound('event subscription', id);
  }

  /** Call inside the transaction that makes the change: one outbox row per interested subscription. */
  async enqueue(transaction: Transaction, type: EventType, data: Record<string, unknown>): Promise<void> {
    await this.repository.enqueue(transaction, [eventEnvelope(type, data)]);
  }

  /** Several events of one change, in its transaction, in one statement. */
  async enqueueAll(transaction: Transaction, events: readonly OutboxEvent[]): Promise<void> {
    await this.repository.enqueue(transaction, events);
  }

  /** An event ready for the outbox, for statements that write it themselves (see enqueueEventsSql). */
  envelope(type: EventType, data: Record<string, unknown>): OutboxEvent {
    return eventEnvelope(type, data);
  }

  /** A subscription's deliveries, newest first; 404 when the subscription does not exist. */
  async deliveries(
    subscriptionId: string,
    page: { status?: DeliveryStatus; beforeId?: string; limit: number },
  ): Promise<{ items: EventDelivery[]; more: boolean }> {
    await this.subscriptionOrNotFound(subscriptionId);
    const rows = await this.repository.deliveries({ subscriptionId, ...page });
    return { items: rows.slice(0, page.limit), more: rows.length > page.limit };
  }

  /**
   * Sends a delivery's event again as a new delivery, due now: the same payload and event id, so
   * a receiver that processed it already can tell. The original keeps its history.
   */
  async redeliver(subscriptionId: string, deliveryId: string): Promise<EventDelivery> {
    const subscription = await this.subscriptionOrNotFound(subscriptionId);
    if (!(await this.repository.findDelivery(subscriptionId, deliveryId)))
      throw ApiError.notFound('event delivery', deliveryId);
    if (subscription.disabledAt) throw subscriptionDisabled(subscriptionId);
    const outcome = await this.repository.insertRedelivery(subscriptionId, deliveryId);
    // Unavailable only if the subscription was disabled between the two reads.
    if ('unavailable' in outcome) throw subscriptionDisabled(subscriptionId);
    // One delivery of an event at a time: redelivering one still being tried would only multiply
    // what its receiver gets (and, against a receiver that hangs, what the dispatcher waits on).
    if ('pending' in outcome)
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.DELIVERY_STILL_PENDING,
        `Delivery ${outcome.pending} of this event is still being tried; redeliver once it is delivered or has failed.`,
        { subscriptionId, deliveryId: outcome.pending },
      );
    return (await this.repository.findDelivery(subscriptionId, outcome.inserted)) as EventDelivery;
  }

  /**
   * Sends a `ping` event to the subscription now, once, and answers how it went (status,
   * latency, error), signed like every event: a receiver's setup can be checked end to end.
   */
  async ping(subscriptionId: string): Promise<EventDelivery> {
    const subscription = await this.subscriptionOrNotFound(subscriptionId);
    if (subscription.disabledAt) throw subscriptionDisabled(subscriptionId);
    const id = await this.repository.insertPing(
      subscriptionId,
      eventEnvelope(PING_EVENT, { subscriptionId, message: 'A test event: nothing happened.' }),
    );
    await this.deliver(id);
    return (await this.repository.findDelivery(subscriptionId, id)) as EventDelivery;
  }

  /**
   * A new signing secret (shown once). The replaced one keeps signing beside it for
   * `overlapHours` (0: stops at once), so receivers can switch without losing an event; a second
   * rotation within the overlap ends the first one's overlap (only one replaced secret signs).
   */
  async rotateSecret(
    subscriptionId: string,
    overlapHours: number,
  ): Promise<{ subscription: EventSubscription; secret: string }> {
    const secret = newSigningSecret();
    const rotated = await this.repository.rotateSecret(subscriptionId, (current) => {
      // A replaced secret this service cannot open (sealed under a master key it no longer holds)
      // cannot sign during an overlap either: the rotation still replaces it, without one, so a
      // subscription left unsignable by an incomplete master-key rotation can be given a new secret.
      const replaced =
        overlapHours > 0 ? unlessUnopenable(() => open(this.keyring, current.id, current.sealedSecret)) : null;
      return {
        sealedSecret: seal(this.keyring, current.id, Buffer.from(secret, 'utf8')),
        secretLastFour: secret.slice(-4),
        previousSealedSecret: replaced ? seal(this.keyring, previousSecretContext(current.id), replaced) : null,
        previousSecretExpiresAt: replaced ? new Date(Date.now() + overlapHours * 3_600_000) : null,
      };
    });
    if (!rotated) {
      await this.subscriptionOrNotFound(subscriptionId);
      throw subscriptionDisabled(subscriptionId);
    }
    return { subscription: rotated, secret };
  }

  private async subscriptionOrNotFound(id: string): Promise<EventSubscription> {
    const subscription = await this.repository.findSubscription(id);
    if (!subscription) throw ApiError.notFound('event subscription', id);
    return subscription;
  }

  /**
   * The warning about a subscription's unopenable replaced secret, at most once per subscription
   * every 10 minutes (see openSigningSecrets): it would otherwise come with every delivery.
   */
  private readonly unopenableReplacedSecret = new LogThrottle(600_000);

  /**
   * The secrets that sign now: the current one, and a replaced one still within its overlap. Or,
   * when the current one cannot be opened, why (the message names no secret). A replaced secret
   * that cannot be opened is left out with a warning: the current one still signs, and receivers
   * already on it verify; only those still on the replaced one fail, and they would anyway once
   * the overlap ends.
   */
  private openSigningSecrets(subscription: EventSubscription): { secrets: string[] } | { unavailable: string } {
    const current = unlessUnopenable(() => open(this.keyring, subscription.id, subscription.sealedSecret));
    if (!current) {
      this.logger.error(
        { subscriptionId: subscription.id, masterKeyId: subscription.sealedSecret.masterKeyId },
        'an event signing secret cannot be opened; nothing was sent',
      );
      return {
        unavailable:
          'The signing secret cannot be opened (sealed under a master key this service does not hold); nothing was sent. ' +
          'Set the key that sealed it as CREDENTIALS_MASTER_KEY_PREVIOUS and run npm run credentials:rotate-master-key.',
      };
    }
    const secrets = [current.toString('utf8')];
    const { previousSealedSecret, previousSecretExpiresAt } = subscription;
    if (previousSealedSecret && previousSecretExpiresAt && previousSecretExpiresAt.getTime() > Date.now()) {
      const previous = unlessUnopenable(() =>
        open(this.keyring, previousSecretContext(subscription.id), previousSealedSecret),
      );
      if (previous) secrets.push(previous.toString('utf8'));
      else if (this.unopenableReplacedSecret.occurred(subscription.id))
        this.logger.warn(
          { subscriptionId: subscription.id, masterKeyId: previousSealedSecret.masterKeyId },
          'the replaced event signing secret cannot be opened; signing with the current one only until its overlap ends',
        );
    }
    return { secrets };
  }

  /**
   * Claims what is due and waits until every delivery this replica has in flight has ended (those
   * it just started included). Replicas share the outbox through SKIP LOCKED and a short lease.
   * Answers how many it claimed. The periodic passes do not wait (see refill).
   */
  async dispatch(): Promise<number> {
    await this.repository.forgetExpiredPreviousSecrets();
    let claimed = await this.refill();
    // Until nothing is in flight: a claim already running when this was called may have missed
    // what fell due just before it (the claim it owes follows at once), and each delivery that
    // ends claims the next ones of its subscription (at most IN_FLIGHT_PER_SUBSCRIPTION at a time).
    while (this.refilling || this.sending.size > 0) {
      if (this.refilling) claimed += await this.refilling;
      await Promise.allSettled([...this.sending]);
    }
    return claimed;
  }

  /** A tick: what is due goes out; once a minute, replaced secrets past their overlap are forgotten. */
  private async periodicPass(): Promise<void> {
    if (Date.now() - this.forgottenAt >= 60_000) {
      this.forgottenAt = Date.now();
      await this.repository.forgetExpiredPreviousSecrets();
    }
    await this.refill();
  }

  /**
   * Claims due deliveries, as many as there is room for, and starts them without waiting: a
   * receiver that hangs holds its own deliveries (at most IN_FLIGHT_PER_SUBSCRIPTION, and its
   * subscription is not claimed for again until they end), never the others'. Each delivery that
   * ends claims again while there was something to claim, so a backlog drains at the receivers'
   * pace rather than one round per interval. One claim at a time; a request during one runs
   * another right after it.
   */
  private refill(): Promise<number> {
    if (this.refilling) {
      this.refillAgain = true;
      return this.refilling;
    }
    const refilling = this.claimAndStart().finally(() => {
      this.refilling = null;
      if (this.refillAgain && !this.stopping) {
        this.refillAgain = false;
        this.refill().catch((error: unknown) => this.reportDispatchError(error));
      }
    });
    this.refilling = refilling;
    return refilling;
  }

  private async claimAndStart(): Promise<number> {
    const room = MAX_IN_FLIGHT - this.sending.size;
    if (room <= 0 || this.stopping) return 0;
    const claimed = await this.repository.claimDue({
      limit: room,
      perSubscription: IN_FLIGHT_PER_SUBSCRIPTION,
      excluding: [...this.inFlightBySubscription.keys()],
    });
    this.lastClaimed = claimed.length;
    for (const { id, subscriptionId } of claimed) this.start(id, subscriptionId);
    return claimed.length;
  }

  private start(id: string, subscriptionId: string): void {
    this.inFlightBySubscription.set(subscriptionId, (this.inFlightBySubscription.get(subscriptionId) ?? 0) + 1);
    const sending: Promise<void> = this.deliver(id)
      .catch((error: unknown) => this.reportDispatchError(error))
      .finally(() => {
        this.sending.delete(sending);
        const left = (this.inFlightBySubscription.get(subscriptionId) ?? 1) - 1;
        if (left > 0) this.inFlightBySubscription.set(subscriptionId, left);
        else this.inFlightBySubscription.delete(subscriptionId);
        // Room again: what is due goes now, not at the next tick, when the last claim found
        // something or this subscription can be claimed for again (its last delivery ended).
        if (!this.stopping && (this.lastClaimed > 0 || left <= 0))
          this.refill().catch((error: unknown) => this.reportDispatchError(error));
      });
    this.sending.add(sending);
  }

  private reportDispatchError(error: unknown): void {
    this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'event dispatch failed');
  }

  private async deliver(id: string): Promise<void> {
    // Read with its subscription right before sending: a subscription disabled after the claim stops here.
    const event = await this.repository.findPending(id);
    if (!event) return;
    if (event.subscription.disabledAt) {
      // Not an attempt (nothing was sent) and not delivered: attempts and delivered_at stay true
      // to history. It is never claimed again because dispatch skips disabled subscriptions and
      // disabling is final (no API re-enables one).
      await this.repository.markUnsent(id, SUBSCRIPTION_DISABLED);
      return;
    }
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const secrets = this.openSigningSecrets(event.subscription);
    // Never sent unsigned: a secret this service cannot open (sealed under a master key it no
    // longer holds) is a failed attempt, retried with back-off and shown in the delivery log, so
    // restoring the key (CREDENTIALS_MASTER_KEY_PREVIOUS) lets the remaining attempts through.
    const result: PostResult =
      'unavailable' in secrets
        ? { status: null, error: secrets.unavailable, latencyMs: 0, failure: 'secret_unavailable' }
        : await this.post(
            event.subscription.url,
            body,
            {
              'X-Payments-Event-Id': String(event.payload.id),
              'X-Payments-Signature': eventSignature(secrets.secrets, timestamp, body),
            },
            { subscriptionId: event.subscription.id, eventId: id },
          );
    const attempts = event.attempts + 1;
    if (result.failure) this.metrics.outboxDeliveryFailures.inc({ reason: result.failure });
    const recorded = await this.repository.recordAttempt(
      id,
      result.error === null
        ? { delivered: true, attempts, responseStatus: result.status, latencyMs: result.latencyMs }
        : {
            delivered: false,
            attempts,
            responseStatus: result.status,
            latencyMs: result.latencyMs,
            error: result.error,
            nextAttemptAt: new Date(Date.now() + Math.min(1_000 * 2 ** attempts, 3_600_000)),
          },
    );
    if (!recorded)
      this.logger.warn(
        { subscriptionId: event.subscription.id, eventId: id, attempt: attempts },
        'an event delivery outlived its claim and another attempt was recorded meanwhile; this one is not recorded',
      );
  }

  /** One signed POST, its outcome as the delivery log records it; never throws. */
  private async post(
    rawUrl: string,
    body: string,
    signing: Record<string, string>,
    logContext: { subscriptionId: string; eventId: string },
  ): Promise<PostResult> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const status = await this.send(rawUrl, body, signing);
      if (status >= 300 && status < 400)
        return {
          status,
          error: `HTTP ${status} (redirects are not followed)`,
          latencyMs: latency(),
          failure: 'redirect',
        };
      if (status < 200 || status >= 300)
        return { status, error: `HTTP ${status}`, latencyMs: latency(), failure: `http_${Math.floor(status / 100)}xx` };
      return { status, error: null, latencyMs: latency() };
    } catch (failure) {
      if (failure instanceof DestinationRefusedError) {
        // The URL is not logged: its path or query may carry something the subscriber considers secret.
        this.logger.warn(
          { ...logContext, refusal: failure.refusal.code, resolvedAddress: failure.refusal.resolvedAddress },
          'event destination refused at delivery',
        );
      }
      // Not `instanceof Error`: errors from Node's own sockets may come from another realm (e.g. under jest).
      const message = (failure as { message?: unknown } | null)?.message;
      const error = typeof message === 'string' && message !== '' ? message.slice(0, 200) : 'delivery failed';
      const kind = failure instanceof DestinationRefusedError ? 'destination_refused' : 'network';
      return { status: null, error, latencyMs: latency(), failure: kind };
    }
  }

  /**
   * One signed POST to exactly the subscribed URL; resolves with the status. No redirect is
   * followed (node:http never does), so the body and signature go nowhere else. The policy is
   * applied again here: to an address host before connecting (Node does not call `lookup` for
   * one), and to every address a name resolves to, inside the connection's own lookup, so the
   * address checked is the address connected to.
   */
  private send(rawUrl: string, body: string, signing: Record<string, string>): Promise<number> {
    let destination: ParsedDestination;
    try {
      destination = this.policy.parseUrl(rawUrl);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const { url, host } = destination;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const request = transport.request(
        {
          protocol: url.protocol,
          host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          agent: this.agents[url.protocol as 'http:' | 'https:'],
          lookup: this.checkedLookup,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...signing },
          // TLS verification stays on (the default); there is deliberately no switch for it.
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            // Nothing in a failed answer is used; do not read it.
            response.destroy();
            finish(() => resolve(status));
            return;
          }
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > RESPONSE_BODY_LIMIT_BYTES) response.destroy();
          });
          response.on('error', () => undefined); // Only the status counts; a cut body is not a failure.
          response.on('close', () => clearTimeout(deadline));
          resolve(status);
        },
      );
      const deadline = setTimeout(
        () => request.destroy(new Error(`no response within ${DELIVERY_TIMEOUT_MS / 1000} s`)),
        DELIVERY_TIMEOUT_MS,
      );
      const finish = (then: () => void) => {
        clearTimeout(deadline);
        then();
      };
      request.on('error', (error) => finish(() => reject(error)));
      request.end(body);
    });
  }

  /**
   * The `lookup` of every delivery connection (pinnedLookup): a name rebound to an internal address
   * between subscribing and delivering still cannot reach it.
   */
  private readonly checkedLookup: LookupFunction;
}

function subscriptionDisabled(id: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.EVENT_SUBSCRIPTION_DISABLED,
    `Event subscription ${id} is disabled: nothing is sent to it any more. Create a new subscription instead.`,
    { subscriptionId: id },
  );
}
