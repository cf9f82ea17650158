import { randomUUID } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { seededRandom } from '../kit/faults';
import { Timers } from '../kit/timers';
import type { SimRequest, SimResponse } from '../kit/http-server';
import { basicCredentials, fieldText, SimServer } from '../kit/http-server';
import { Deliverer, post } from '../kit/outbound';
import type { Authority } from '../kit/pki';
import { createRequest, parseCsr, signRequest } from '../kit/pki';
import type { VerestroSigningEnvironment } from './csr-policy';
import { csrPolicyViolations } from './csr-policy';

/**
 * Verestro: an mTLS host that trusts only certificates it signed itself, card payouts with Basic
 * authorization on top of mTLS, and callbacks to the partner over reverse mTLS with
 * X-Idempotency-Key. Payload shapes are UNCONFIRMED publicly; they are modelled here and in the
 * product's mapper only.
 */
export interface VerestroSettings {
  partner: { username: string; password: string };
  timeline: { completeAfterMs: number };
  callbacks: {
    url?: string;
    /** The certificate the partner signed from the simulator's callback CSR. */
    certificatePem?: string;
    /** Trust for the partner's callback server (its CA), when it is not a public one. */
    serverCaPem?: string;
    /** The simulator's own callback key and the CSR made from it (kept so a restart keeps working). */
    clientKeyPem?: string;
    csrPem?: string;
    retryDelaysMs: number[];
    duplicate: boolean;
    reorderWindowMs: number;
  };
}

/** Test inputs: this card token is declined. */
export const VERESTRO_TEST_CARDS = { declined: 'tok_declined' } as const;

type OrderStatus = 'PENDING' | 'COMPLETED' | 'FAILED';

export interface VerestroLedgerEntry {
  orderId: string;
  externalId: string;
  amount: string;
  currency: string;
  cardToken: string;
  status: OrderStatus;
  history: Array<{ status: OrderStatus; at: string }>;
  createdAt: string;
}

export interface SignedCertificate {
  serialNumber: string;
  commonName: string;
  environment: VerestroSigningEnvironment;
  signedAt: string;
}

const AMOUNT = /^\d{1,13}(\.\d{1,2})?$/;

export class VerestroSimulator {
  readonly server: SimServer;
  readonly ledger: VerestroLedgerEntry[] = [];
  readonly signed: SignedCertificate[] = [];
  readonly callbacks: Deliverer;
  private readonly orders = new Map<string, VerestroLedgerEntry>();
  private readonly timers = new Timers();

  constructor(
    tls: ServerOptions,
    private readonly authority: Authority,
    readonly settings: VerestroSettings,
    seed = 1,
  ) {
    this.callbacks = new Deliverer(() => this.settings.callbacks, seededRandom(seed + 13));
    this.server = new SimServer(
      'verestro',
      { ...tls, ca: [authority.certificatePem], requestCert: true, rejectUnauthorized: true },
      seed,
    );
    this.server
      .route('POST', '/api/v2/client/send-money', (r) => this.partner(r, () => this.sendMoney(r)))
      .route('GET', '/api/v2/client/send-money/:orderId', (r) => this.partner(r, () => this.order(r)))
      .route('POST', '/client/calculate-commission/payout', (r) => this.partner(r, () => this.commission(r)))
      .otherwise(() => ({ status: 404, body: { error: 'NOT_FOUND' } }));
  }

  close(): void {
    this.timers.clear();
    this.callbacks.close();
  }

  /** Stands in for the e-mail exchange: Verestro checks the partner's CSR and signs it. */
  async signCsr(
    csrPem: string,
    environment: VerestroSigningEnvironment,
  ): Promise<{ violations: string[] } | { certificatePem: string; caPem: string }> {
    let csr;
    try {
      csr = await parseCsr(csrPem);
    } catch {
      return { violations: ['not a PEM certificate request'] };
    }
    const violations = csrPolicyViolations(csr, environment);
    if (violations.length > 0) return { violations };
    const { certificatePem, serialNumber } = await signRequest(this.authority, csr);
    this.signed.push({
      serialNumber,
      commonName: csr.subject.getField('2.5.4.3')[0],
      environment,
      signedAt: new Date().toISOString(),
    });
    return { certificatePem, caPem: this.authority.certificatePem };
  }

  /** The CSR Verestro sends the partner for its callback client certificate. */
  async callbackCsr(): Promise<string> {
    const callbacks = this.settings.callbacks;
    if (!callbacks.csrPem || !callbacks.clientKeyPem) {
      const request = await createRequest('CN=Verestro Simulator Callbacks,O=Verestro Simulator,C=PL');
      callbacks.csrPem = request.csrPem;
      callbacks.clientKeyPem = request.privateKeyPem;
    }
    return callbacks.csrPem;
  }

  private partner(request: SimRequest, handle: () => SimResponse): SimResponse {
    // The TLS layer already refused anyone without a certificate this CA signed.
    const client = basicCredentials(request.headers.authorization);
    if (
      !client ||
      client.user !== this.settings.partner.username ||
      client.password !== this.settings.partner.password
    ) {
      return {
        status: 401,
        body: {
          error: 'UNAUTHORIZED',
          message: 'Basic authorization issued at onboarding is required on top of mTLS.',
        },
      };
    }
    return handle();
  }

  private body(request: SimRequest): Record<string, unknown> | null {
    try {
      const value = JSON.parse(request.rawBody.toString('utf8')) as unknown;
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }

  private sendMoney(request: SimRequest): SimResponse {
    const body = this.body(request);
    if (!body) return { status: 400, body: { error: 'MALFORMED_JSON' } };
    const recipient = (body.recipient ?? {}) as { cardToken?: string };
    const problems: string[] = [];
    if (typeof body.amount !== 'string' || !AMOUNT.test(body.amount) || Number(body.amount) <= 0)
      problems.push('amount (decimal string)');
    if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency)) problems.push('currency');
    if (typeof recipient.cardToken !== 'string' || recipient.cardToken === '') problems.push('recipient.cardToken');
    if (typeof body.externalId !== 'string' || body.externalId === '') problems.push('externalId');
    if (problems.length > 0) return { status: 400, body: { error: 'VALIDATION_ERROR', fields: problems } };
    const existing = this.ledger.find((entry) => entry.externalId === body.externalId);
    if (existing)
      return {
        status: 409,
        body: { error: 'DUPLICATE_EXTERNAL_ID', orderId: existing.orderId, status: existing.status },
      };
    const now = new Date().toISOString();
    const entry: VerestroLedgerEntry = {
      orderId: randomUUID(),
      externalId: String(body.externalId),
      amount: Number(body.amount).toFixed(2),
      currency: String(body.currency),
      cardToken: String(recipient.cardToken),
      status: 'PENDING',
      history: [{ status: 'PENDING', at: now }],
      createdAt: now,
    };
    this.ledger.push(entry);
    this.orders.set(entry.orderId, entry);
    this.timers.later(this.settings.timeline.completeAfterMs, () =>
      this.move(entry, entry.cardToken === VERESTRO_TEST_CARDS.declined ? 'FAILED' : 'COMPLETED'),
    );
    return { status: 201, body: { orderId: entry.orderId, status: entry.status } };
  }

  private order(request: SimRequest): SimResponse {
    const entry = this.orders.get(request.params.orderId);
    if (!entry) return { status: 404, body: { error: 'ORDER_NOT_FOUND' } };
    return {
      status: 200,
      body: {
        orderId: entry.orderId,
        externalId: entry.externalId,
        status: entry.status,
        amount: entry.amount,
        currency: entry.currency,
      },
    };
  }

  private commission(request: SimRequest): SimResponse {
    const body = this.body(request);
    if (!body || typeof body.amount !== 'string' || !AMOUNT.test(body.amount))
      return { status: 400, body: { error: 'VALIDATION_ERROR', fields: ['amount'] } };
    const commission = Math.max(0.5, Math.round(Number(body.amount) * 100 * 0.01) / 100);
    return {
      status: 200,
      body: { commission: { amount: commission.toFixed(2), currency: fieldText(body.currency ?? 'EUR') } },
    };
  }

  private move(entry: VerestroLedgerEntry, status: OrderStatus): void {
    entry.status = status;
    entry.history.push({ status, at: new Date().toISOString() });
    const { url, certificatePem, serverCaPem, clientKeyPem } = this.settings.callbacks;
    if (!url || !certificatePem || !clientKeyPem) return;
    const idempotencyKey = randomUUID();
    const body = JSON.stringify({
      event: 'PAYOUT_STATUS_CHANGED',
      orderId: entry.orderId,
      externalId: entry.externalId,
      status,
    });
    const key = clientKeyPem;
    this.callbacks.deliver(
      url,
      () =>
        post(
          url,
          body,
          { 'Content-Type': 'application/json', 'X-Idempotency-Key': idempotencyKey },
          {
            cert: certificatePem,
            key,
            ...(serverCaPem ? { ca: serverCaPem } : {}),
          },
        ),
      (result) => result.status >= 200 && result.status < 300,
    );
  }
}
