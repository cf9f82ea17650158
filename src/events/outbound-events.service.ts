import { HttpStatus, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { PeriodicTask } from '../common/periodic-task';
import { Environment } from '../config/environment';
import { open, seal } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import type { Transaction } from '../database/unit-of-work';
import {
  DestinationPolicy,
  DestinationRefusedError,
  DestinationResolver,
  ParsedDestination,
  resolveHost,
} from './destination-policy';
import type { EventSubscription } from './domain/event-subscription';
import { OutboundEventsRepository } from './persistence/outbound-events.repository';

export const EVENT_TYPES = ['payout.status_changed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event ready for the outbox: its type and the payload each subscription receives. */
export interface OutboxEvent {
  type: EventType;
  payload: Record<string, unknown>;
}

const MAX_ATTEMPTS = 15;
const BATCH = 50;
/** Connect + response, per delivery. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** Only the status matters; a receiver's body is read up to this (to reuse the connection), then cut. */
const RESPONSE_BODY_LIMIT_BYTES = 16 * 1024;
/** Written to lastError when an event's subscription was disabled before it could be delivered. */
export const SUBSCRIPTION_DISABLED = 'subscription disabled';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`: the receiver checks it and the age of t. */
export function eventSignature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Events for internal services: written to an outbox in the same transaction as the change they
 * report, delivered at least once to each subscription, HMAC-signed, retried with back-off.
 * Destinations are checked by DestinationPolicy when subscribed and again on every connection.
 */
@Injectable()
export class OutboundEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OutboundEvents');
  private readonly dispatcher = new PeriodicTask(
    () => this.dispatch(),
    (error) => this.logger.warn({ error: String(error) }, 'event dispatch failed'),
  );
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
  ) {}

  onApplicationBootstrap(): void {
    this.dispatcher.start(Math.min(this.environment.RECONCILE_INTERVAL_MS, 1_000));
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcher.stop();
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
      const { code, reason, hint } = error.refusal;
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.DESTINATION_NOT_ALLOWED,
        `Events cannot be sent to this url: ${reason}. ${hint}`,
        [{ field: 'url', code, message: reason }],
      );
    }
    const id = randomUUID();
    const secret = 'whsec_' + randomBytes(24).toString('base64url');
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
    const event = this.envelope(type, data);
    await this.repository.enqueue(transaction, event.type, event.payload);
  }

  /**
   * An event as the outbox stores it and receivers get it: its own id, its type, when it
   * happened, and the data. For statements that write the event themselves (see enqueueEventSql).
   */
  envelope(type: EventType, data: Record<string, unknown>): OutboxEvent {
    return { type, payload: { id: randomUUID(), type, occurredAt: new Date().toISOString(), data } };
  }

  /**
   * One delivery pass (replicas share the outbox through SKIP LOCKED and a short lease). Only
   * events of active subscriptions are claimed; EXISTS (not a join) so that FOR UPDATE locks the
   * event rows only and never blocks a concurrent disable().
   */
  async dispatch(): Promise<number> {
    const due = await this.repository.claimDue(MAX_ATTEMPTS, BATCH);
    await Promise.all(due.map((id) => this.deliver(id)));
    return due.length;
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
    const secret = open(this.keyring, event.subscription.id, event.subscription.sealedSecret).toString('utf8');
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let error: string | null = null;
    try {
      const status = await this.post(event.subscription.url, body, {
        'X-Payments-Event-Id': String(event.payload.id),
        'X-Payments-Signature': eventSignature(secret, timestamp, body),
      });
      if (status >= 300 && status < 400) error = `HTTP ${status} (redirects are not followed)`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (failure) {
      if (failure instanceof DestinationRefusedError) {
        // The URL is not logged: its path or query may carry something the subscriber considers secret.
        this.logger.warn(
          { subscriptionId: event.subscription.id, eventId: id, refusal: failure.refusal.code },
          'event destination refused at delivery',
        );
      }
      // Not `instanceof Error`: errors from Node's own sockets may come from another realm (e.g. under jest).
      const message = (failure as { message?: unknown } | null)?.message;
      error = typeof message === 'string' && message !== '' ? message.slice(0, 200) : 'delivery failed';
    }
    const attempts = event.attempts + 1;
    await this.repository.recordAttempt(
      id,
      error
        ? {
            delivered: false,
            attempts,
            error,
            nextAttemptAt: new Date(Date.now() + Math.min(1_000 * 2 ** attempts, 3_600_000)),
          }
        : { delivered: true, attempts },
    );
  }

  /**
   * One signed POST to exactly the subscribed URL; resolves with the status. No redirect is
   * followed (node:http never does), so the body and signature go nowhere else. The policy is
   * applied again here: to an address host before connecting (Node does not call `lookup` for
   * one), and to every address a name resolves to, inside the connection's own lookup, so the
   * address checked is the address connected to.
   */
  private post(rawUrl: string, body: string, signing: Record<string, string>): Promise<number> {
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
   * The `lookup` of every delivery connection: resolves the name (through DestinationResolver),
   * and fails the connection if any answer is forbidden, so a name rebound to an internal
   * address between subscribing and delivering still cannot reach it.
   */
  private readonly checkedLookup: LookupFunction = (hostName, options, callback) => {
    resolveHost(hostName, (name) => this.resolver.lookup(name)).then(
      (addresses) => {
        const refusal = this.policy.checkResolved(hostName, addresses);
        if (refusal) return callback(new DestinationRefusedError(refusal), '', 0);
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const wanted: LookupAddress[] = family ? addresses.filter((a) => a.family === family) : addresses;
        if (wanted.length === 0)
          return callback(
            Object.assign(new Error(`${hostName} has no IPv${family} address`), { code: 'ENOTFOUND' }),
            '',
            0,
          );
        if (options.all) return callback(null, wanted);
        callback(null, wanted[0].address, wanted[0].family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}
