import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { seededRandom } from '../kit/faults';
import { Timers } from '../kit/timers';
import type { SimRequest, SimResponse } from '../kit/http-server';
import { basicCredentials, SimServer } from '../kit/http-server';
import { Deliverer, post } from '../kit/outbound';
import { isValidXSignature, signedString } from './x-signature';

/**
 * ConnectPay, as documented (seed 003, provider notes): an mTLS host for everything that touches
 * a person's data (OAuth token, accounts, payments) and a one-way TLS host for Merchant API v2;
 * the two never mix. mTLS clients must present a chain to the simulated public CA whose leaf
 * serial + CN are registered for the DevApp.
 */
export interface ConnectPaySettings {
  devApp: { clientKey: string; clientSecret: string; brandId: string };
  registeredCertificates: Array<{ serialNumber: string; commonName: string }>;
  merchantPublicKeys: string[];
  webhook: { url?: string; secretToken?: string; headerName: string };
  xSignatureSeparator: string;
  /**
   * A fault switch for the doctor's host-separation check: the one-way host answers the accounts
   * list to a valid token, as a misrouted or misconfigured host would. Never the real behaviour.
   */
  oneWayServesPersonData: boolean;
  timeline: { processAfterMs: number; settleAfterMs: number };
  notifications: { retryDelaysMs: number[]; duplicate: boolean; reorderWindowMs: number };
}

export const CONNECTPAY_RAILS = ['INTERNAL', 'SEPA_SCT_INST', 'SEPA_SCT', 'SWIFT'] as const;
type Rail = (typeof CONNECTPAY_RAILS)[number];
const FEES: Record<Rail, string> = { INTERNAL: '0.00', SEPA_SCT_INST: '1.00', SEPA_SCT: '5.00', SWIFT: '25.00' };
const CURRENCIES = new Set([
  'EUR',
  'USD',
  'CAD',
  'JPY',
  'PLN',
  'GBP',
  'CZK',
  'CHF',
  'AUD',
  'SEK',
  'DKK',
  'NOK',
  'HUF',
  'RON',
  'SGD',
  'HKD',
]);
const SEPA_COUNTRIES = new Set(
  'AT BE BG HR CY CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT MC NL NO PL PT RO SM SK SI ES SE CH GB'.split(' '),
);
const AMOUNT = /^\d{1,13}(\.\d{1,2})?$/;

/** Test inputs that steer a payment (documented in the README). */
export const CONNECTPAY_TEST_AMOUNTS = { rejected: '666.66', amlHoldFrom: '50000.00' } as const;

const ACCESS_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
const AUTH_CODE_SECONDS = 24 * 3600;
const SCOPE = 'ob-ps:authz-nosca ob-ps ob-as';

type PaymentStatus = 'RCVD' | 'ACTC' | 'ACSP' | 'ACSC' | 'PDNG' | 'RJCT';
const EVENTS: Partial<Record<PaymentStatus, string>> = {
  RCVD: 'OutgoingPayment.Created',
  ACTC: 'OutgoingPayment.Processing',
  ACSP: 'OutgoingPayment.Processing',
  ACSC: 'OutgoingPayment.Completed',
  RJCT: 'OutgoingPayment.Rejected',
  PDNG: 'OutgoingPayment.OnHold',
};

interface Account {
  id: string;
  iban: string;
  name: string;
  currency: string;
  balanceCents: number;
  transactions: Array<{
    transactionId: string;
    bookingDate: string;
    amount: string;
    currency: string;
    creditDebitIndicator: 'CRDT' | 'DBIT';
    remittanceInformation: string;
    counterpartyIban?: string;
  }>;
}

export interface ConnectPayLedgerEntry {
  paymentOrderNo: string;
  externalReference: string;
  paymentRail: Rail;
  debtorIban: string;
  creditorIban: string;
  amount: string;
  currency: string;
  status: PaymentStatus;
  history: Array<{ status: PaymentStatus; at: string }>;
  createdAt: string;
}

const cents = (amount: string) => Math.round(Number(amount) * 100);
const money = (value: number) => (value / 100).toFixed(2);

function error(status: number, code: string, message: string): SimResponse {
  return { status, body: { error: code, message } };
}

export class ConnectPaySimulator {
  readonly mtls: SimServer;
  readonly oneWay: SimServer;
  readonly ledger: ConnectPayLedgerEntry[] = [];
  readonly webhooks: Deliverer;
  readonly accounts: Account[];
  private readonly authCodes = new Map<string, number>();
  private readonly accessTokens = new Map<string, { expiresAt: number; scope: string }>();
  private readonly refreshTokens = new Map<string, number>();
  private readonly payments = new Map<string, ConnectPayLedgerEntry>();
  private readonly merchantPayments = new Map<string, Record<string, unknown>>();
  private readonly timers = new Timers();
  private sequence = 630_000_000;

  constructor(
    mtlsOptions: ServerOptions,
    oneWayOptions: ServerOptions,
    readonly settings: ConnectPaySettings,
    seed = 1,
  ) {
    this.accounts = [
      account('acc-eur-main', 'LT601010012345678901', 'Main EUR account', '250000.00'),
      account('acc-eur-payroll', 'LT851010098765432109', 'Payroll EUR account', '2500.00'),
    ];
    this.webhooks = new Deliverer(() => this.settings.notifications, seededRandom(seed + 11));
    this.mtls = new SimServer('connectpay-mtls', { ...mtlsOptions, requestCert: true, rejectUnauthorized: true }, seed);
    this.oneWay = new SimServer('connectpay-oneway', oneWayOptions, seed + 1);

    this.mtls
      .route('POST', '/auth/v1/oauth2/token', (r) => this.onMtls(r, () => this.token(r)))
      .route('GET', '/ob/accounts', (r) => this.onMtls(r, () => this.withToken(r, 'ob-as', () => this.listAccounts(r))))
      .route('GET', '/ob/accounts/:accountId/transactions', (r) =>
        this.onMtls(r, () => this.withToken(r, 'ob-as', () => this.transactions(r))),
      )
      .route('POST', '/ob/paymentrails', (r) => this.onMtls(r, () => this.withToken(r, 'ob-ps', () => this.rails(r))))
      .route('POST', '/ob/payments', (r) => this.onMtls(r, () => this.withToken(r, 'ob-ps', () => this.initiate(r))))
      .route('POST', '/ob/payments/:no/authorisations/nosca', (r) =>
        this.onMtls(r, () => this.withToken(r, 'ob-ps:authz-nosca', () => this.authorise(r))),
      )
      .route('GET', '/ob/payments/:no/status', (r) =>
        this.onMtls(r, () => this.withToken(r, 'ob-ps', () => this.status(r))),
      )
      .otherwise((r) =>
        r.path.startsWith('/merchant/')
          ? error(
              403,
              'ONE_WAY_TLS_REQUIRED',
              'Merchant APIs are served on the one-way TLS host (api2-…), not on the mTLS host.',
            )
          : error(404, 'NOT_FOUND', 'No such API.'),
      );

    this.oneWay
      .route('POST', '/merchant/payments', (r) => this.merchant(r, () => this.createMerchantPayment(r)))
      .route('GET', '/merchant/payments/:id', (r) => this.merchant(r, () => this.getMerchantPayment(r)))
      .route('GET', '/ob/accounts', (r) =>
        this.settings.oneWayServesPersonData
          ? this.withToken(r, 'ob-as', () => this.listAccounts(r))
          : error(
              403,
              'MTLS_REQUIRED',
              'This API touches person data and is served only on the mTLS host (api-…), with a client certificate.',
            ),
      )
      .otherwise((r) =>
        r.path.startsWith('/ob/') || r.path.startsWith('/auth/')
          ? error(
              403,
              'MTLS_REQUIRED',
              'This API touches person data and is served only on the mTLS host (api-…), with a client certificate.',
            )
          : error(404, 'NOT_FOUND', 'No such API.'),
      );
  }

  close(): void {
    this.timers.clear();
    this.webhooks.close();
  }

  /** A one-time authorization code, as a person generates in the Online Banking portal (valid 24 h). */
  issueAuthCode(): string {
    const code = randomBytes(16).toString('hex');
    this.authCodes.set(code, Date.now() + AUTH_CODE_SECONDS * 1000);
    return code;
  }

  /** Registers the leaf of a submitted chain for the DevApp (what ConnectPay support does with the .zip). */
  registerChain(chainPem: string): { serialNumber: string; commonName: string } {
    const leaf = new X509Certificate(chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 25));
    const registration = {
      serialNumber: normalizeSerial(leaf.serialNumber),
      commonName: /CN=([^\n,]+)/.exec(leaf.subject)?.[1] ?? '',
    };
    if (!this.settings.registeredCertificates.some((c) => c.serialNumber === registration.serialNumber)) {
      this.settings.registeredCertificates.push(registration);
    }
    return registration;
  }

  // ---- mTLS host --------------------------------------------------------------------------------

  private onMtls(request: SimRequest, handle: () => SimResponse): SimResponse {
    const peer = request.socket.getPeerCertificate();
    const serial = normalizeSerial(peer?.serialNumber ?? '');
    const commonName = String(peer?.subject?.CN ?? '');
    const registered = this.settings.registeredCertificates.some(
      (c) => c.serialNumber === serial && c.commonName === commonName,
    );
    if (!registered) {
      return error(
        403,
        'CERTIFICATE_NOT_REGISTERED',
        'The client certificate (serial number + CN) is not attached to this DevApp.',
      );
    }
    const requestId = request.headers['x-request-id'];
    if (typeof requestId !== 'string' || !/^[0-9a-fA-F-]{36}$/.test(requestId)) {
      return error(400, 'X_REQUEST_ID_REQUIRED', 'Send an X-Request-ID header with a UUID.');
    }
    return handle();
  }

  private token(request: SimRequest): SimResponse {
    const client = basicCredentials(request.headers.authorization);
    if (
      !client ||
      client.user !== this.settings.devApp.clientKey ||
      client.password !== this.settings.devApp.clientSecret
    ) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Basic client authentication failed.' },
      };
    }
    if (!/^application\/x-www-form-urlencoded\b/.test(String(request.headers['content-type'] ?? ''))) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Send the form as application/x-www-form-urlencoded.' },
      };
    }
    const form = new URLSearchParams(request.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    const now = Date.now();
    if (grant === 'authorization_code') {
      const code = form.get('code') ?? '';
      const expires = this.authCodes.get(code);
      if (!expires || expires < now)
        return {
          status: 400,
          body: { error: 'invalid_grant', error_description: 'Unknown, used or expired authorization code.' },
        };
      this.authCodes.delete(code);
    } else if (grant === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const expires = this.refreshTokens.get(token);
      if (!expires || expires < now)
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'Unknown or expired refresh token: repeat the authorization code flow.',
          },
        };
    } else {
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    }
    const accessToken = randomBytes(24).toString('base64url');
    this.accessTokens.set(accessToken, { expiresAt: now + ACCESS_TOKEN_SECONDS * 1000, scope: SCOPE });
    let refreshToken = form.get('refresh_token') ?? '';
    if (grant === 'authorization_code') {
      refreshToken = randomBytes(24).toString('base64url');
      this.refreshTokens.set(refreshToken, now + REFRESH_TOKEN_SECONDS * 1000);
    }
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        access_token: accessToken,
        refresh_token: refreshToken,
        expires_in: ACCESS_TOKEN_SECONDS,
        scope: SCOPE,
        refresh_token_expires_in: String(Math.round(((this.refreshTokens.get(refreshToken) ?? now) - now) / 1000)),
      },
    };
  }

  private withToken(request: SimRequest, scope: string, handle: () => SimResponse): SimResponse {
    const token = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const grant = this.accessTokens.get(token);
    if (!grant || grant.expiresAt < Date.now())
      return {
        status: 401,
        body: { error: 'invalid_token', error_description: 'Missing, unknown or expired access token.' },
      };
    if (!grant.scope.split(' ').includes(scope)) return { status: 403, body: { error: 'insufficient_scope', scope } };
    return handle();
  }

  private json(request: SimRequest): Record<string, unknown> | null {
    try {
      const value = JSON.parse(request.rawBody.toString('utf8')) as unknown;
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }

  private listAccounts(request: SimRequest): SimResponse {
    const withBalance = request.query.get('withBalance') === 'true';
    return {
      status: 200,
      body: {
        accounts: this.accounts.map((a) => ({
          accountId: a.id,
          iban: a.iban,
          name: a.name,
          currency: a.currency,
          ...(withBalance
            ? { balances: [{ balanceType: 'AVAILABLE', amount: money(a.balanceCents), currency: a.currency }] }
            : {}),
        })),
      },
    };
  }

  private transactions(request: SimRequest): SimResponse {
    const account = this.accounts.find((a) => a.id === request.params.accountId);
    if (!account) return error(404, 'ACCOUNT_NOT_FOUND', 'No such account.');
    const from = request.query.get('dateFrom');
    const to = request.query.get('dateTo');
    const order = request.query.get('sortOrder') === 'ASC' ? 1 : -1;
    const items = account.transactions
      .filter((t) => (!from || t.bookingDate >= from) && (!to || t.bookingDate.slice(0, 10) <= to))
      .sort((a, b) => order * a.bookingDate.localeCompare(b.bookingDate));
    return { status: 200, body: { transactions: items } };
  }

  private railsFor(debtorIban: string, creditorIban: string, currency: string): Rail[] {
    if (this.accounts.some((a) => a.iban === creditorIban) && debtorIban !== creditorIban) return ['INTERNAL'];
    if (currency === 'EUR' && SEPA_COUNTRIES.has(creditorIban.slice(0, 2))) return ['SEPA_SCT_INST', 'SEPA_SCT'];
    return ['SWIFT'];
  }

  private rails(request: SimRequest): SimResponse {
    const body = this.json(request);
    const debtor = (body?.debtorAccount as { iban?: string } | undefined)?.iban;
    const creditor = (body?.creditorAccount as { iban?: string } | undefined)?.iban;
    const amount = body?.instructedAmount as { amount?: string; currency?: string } | undefined;
    if (!debtor || !creditor || !amount?.currency)
      return error(
        400,
        'VALIDATION_ERROR',
        'debtorAccount.iban, creditorAccount.iban and instructedAmount are required.',
      );
    return { status: 200, body: { paymentRails: this.railsFor(debtor, creditor, amount.currency) } };
  }

  private initiate(request: SimRequest): SimResponse {
    const body = this.json(request);
    if (!body) return error(400, 'MALFORMED_JSON', 'The body is not a JSON object.');
    const rail = body.paymentRail as Rail;
    const debtorIban = (body.debtorAccount as { iban?: string } | undefined)?.iban ?? '';
    const creditor = (body.creditorAccount ?? {}) as { iban?: string; bic?: string; bankName?: string };
    const address = (body.creditorAddress ?? {}) as Record<string, string>;
    const instructed = (body.instructedAmount ?? {}) as { amount?: unknown; currency?: string };
    const problems: string[] = [];
    if (!CONNECTPAY_RAILS.includes(rail)) problems.push('paymentRail');
    const debtor = this.accounts.find((a) => a.iban === debtorIban);
    if (!debtor) problems.push('debtorAccount.iban');
    if (!creditor.iban || !/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(creditor.iban)) problems.push('creditorAccount.iban');
    if (typeof body.creditorName !== 'string' || body.creditorName.trim() === '') problems.push('creditorName');
    if (typeof instructed.amount !== 'string' || !AMOUNT.test(instructed.amount) || cents(instructed.amount) <= 0)
      problems.push('instructedAmount.amount (a decimal string)');
    if (!instructed.currency || !CURRENCIES.has(instructed.currency)) problems.push('instructedAmount.currency');
    if (typeof body.externalReference !== 'string' || body.externalReference === '') problems.push('externalReference');
    if (rail === 'SWIFT' && (!creditor.bic || !address.addressLine1 || !address.city || !address.countryCode))
      problems.push('creditorAccount.bic and creditorAddress for SWIFT');
    if (problems.length > 0) return error(400, 'VALIDATION_ERROR', `Invalid or missing: ${problems.join(', ')}.`);
    if (
      debtor &&
      creditor.iban &&
      !this.railsFor(debtorIban, creditor.iban, String(instructed.currency)).includes(rail)
    ) {
      return error(400, 'RAIL_NOT_AVAILABLE', `${rail} is not available for this payment; ask /ob/paymentrails.`);
    }
    const reference = String(body.externalReference);
    const existing = this.ledger.find((p) => p.externalReference === reference);
    if (existing) {
      return {
        status: 409,
        body: {
          error: 'DUPLICATE_EXTERNAL_REFERENCE',
          message: 'A payment with this externalReference exists.',
          paymentOrderNo: existing.paymentOrderNo,
        },
      };
    }
    const amount = String(instructed.amount);
    if (debtor!.balanceCents < cents(amount) + cents(FEES[rail]))
      return error(422, 'INSUFFICIENT_FUNDS', 'The debtor account balance does not cover the amount and fees.');
    const now = new Date().toISOString();
    const entry: ConnectPayLedgerEntry = {
      paymentOrderNo: `s-${this.sequence++}`,
      externalReference: reference,
      paymentRail: rail,
      debtorIban,
      creditorIban: creditor.iban!,
      amount: money(cents(amount)),
      currency: String(instructed.currency),
      status: 'RCVD',
      history: [{ status: 'RCVD', at: now }],
      createdAt: now,
    };
    this.ledger.push(entry);
    this.payments.set(entry.paymentOrderNo, entry);
    this.webhook(entry);
    return {
      status: 201,
      body: {
        paymentOrderNo: entry.paymentOrderNo,
        paymentRail: rail,
        transactionStatus: 'RCVD',
        transactionFees: { amount: FEES[rail], currency: 'EUR' },
      },
    };
  }

  private authorise(request: SimRequest): SimResponse {
    const payment = this.payments.get(request.params.no);
    if (!payment) return error(404, 'PAYMENT_NOT_FOUND', 'No such payment order.');
    if (payment.status !== 'RCVD') return error(409, 'ALREADY_AUTHORISED', `The payment is ${payment.status}.`);
    this.move(payment, 'ACTC');
    const { processAfterMs, settleAfterMs } = this.settings.timeline;
    this.timers.later(processAfterMs, () => {
      if (payment.amount === CONNECTPAY_TEST_AMOUNTS.rejected) return this.move(payment, 'RJCT');
      if (cents(payment.amount) >= cents(CONNECTPAY_TEST_AMOUNTS.amlHoldFrom)) return this.move(payment, 'PDNG');
      const debtor = this.accounts.find((a) => a.iban === payment.debtorIban)!;
      debtor.balanceCents -= cents(payment.amount) + cents(FEES[payment.paymentRail]);
      debtor.transactions.push({
        transactionId: randomUUID(),
        bookingDate: new Date().toISOString(),
        amount: payment.amount,
        currency: payment.currency,
        creditDebitIndicator: 'DBIT',
        remittanceInformation: payment.externalReference,
        counterpartyIban: payment.creditorIban,
      });
      this.move(payment, 'ACSP');
      this.timers.later(settleAfterMs, () => this.move(payment, 'ACSC'));
    });
    return { status: 200, body: { paymentOrderNo: payment.paymentOrderNo, transactionStatus: payment.status } };
  }

  private status(request: SimRequest): SimResponse {
    const payment = this.payments.get(request.params.no);
    if (!payment) return error(404, 'PAYMENT_NOT_FOUND', 'No such payment order.');
    return {
      status: 200,
      body: {
        paymentOrderNo: payment.paymentOrderNo,
        transactionStatus: payment.status,
        externalReference: payment.externalReference,
      },
    };
  }

  private move(payment: ConnectPayLedgerEntry, status: PaymentStatus): void {
    payment.status = status;
    payment.history.push({ status, at: new Date().toISOString() });
    this.webhook(payment);
  }

  /** Webhooks carry no signature: the secret token header and the source IP are the proof. */
  private webhook(payment: ConnectPayLedgerEntry): void {
    const { url, secretToken, headerName } = this.settings.webhook;
    if (!url || !secretToken) return;
    const timestamp = new Date().toISOString();
    const body = JSON.stringify({
      eventType: EVENTS[payment.status],
      paymentOrderNo: payment.paymentOrderNo,
      externalReference: payment.externalReference,
      transactionStatus: payment.status,
      timestamp,
    });
    this.webhooks.deliver(
      url,
      () =>
        post(url, body, {
          'Content-Type': 'application/json',
          [headerName]: secretToken,
          'x-connectpay-timestamp': timestamp,
        }),
      (result) => result.status >= 200 && result.status < 300 && result.body.trim() === 'OK',
    );
  }

  // ---- one-way host: Merchant API v2 ---------------------------------------------------------

  private merchant(request: SimRequest, handle: () => SimResponse): SimResponse {
    const client = basicCredentials(request.headers.authorization);
    if (
      !client ||
      client.user !== this.settings.devApp.clientKey ||
      client.password !== this.settings.devApp.clientSecret
    ) {
      return error(401, 'UNAUTHORIZED', 'Basic authentication with the DevApp ClientKey and ClientSecret is required.');
    }
    const message = signedString(
      request.method,
      `${request.host}${request.path}${request.query.size ? `?${request.query.toString()}` : ''}`,
      request.rawBody.toString('utf8'),
      this.settings.xSignatureSeparator,
    );
    const signature = request.headers['x-signature'];
    if (
      !isValidXSignature(
        this.settings.merchantPublicKeys,
        message,
        typeof signature === 'string' ? signature : undefined,
      )
    ) {
      return error(401, 'INVALID_SIGNATURE', 'X-Signature does not verify with the merchant public key on file.');
    }
    return handle();
  }

  private createMerchantPayment(request: SimRequest): SimResponse {
    const body = this.json(request);
    const amount = body?.amount as { amount?: string; currency?: string } | undefined;
    if (
      !body ||
      typeof amount?.amount !== 'string' ||
      !AMOUNT.test(amount.amount) ||
      !amount.currency ||
      typeof body.reference !== 'string'
    ) {
      return error(400, 'VALIDATION_ERROR', 'amount {amount (decimal string), currency} and reference are required.');
    }
    const id = randomUUID();
    const payment = {
      paymentId: id,
      status: 'CREATED',
      amount,
      reference: body.reference,
      brandId: this.settings.devApp.brandId,
    };
    this.merchantPayments.set(id, payment);
    return { status: 201, body: payment };
  }

  private getMerchantPayment(request: SimRequest): SimResponse {
    const payment = this.merchantPayments.get(request.params.id);
    return payment ? { status: 200, body: payment } : error(404, 'PAYMENT_NOT_FOUND', 'No such merchant payment.');
  }
}

function account(id: string, iban: string, name: string, balance: string): Account {
  return {
    id,
    iban,
    name,
    currency: 'EUR',
    balanceCents: cents(balance),
    transactions: [
      {
        transactionId: randomUUID(),
        bookingDate: new Date(Date.now() - 86_400_000).toISOString(),
        amount: balance,
        currency: 'EUR',
        creditDebitIndicator: 'CRDT',
        remittanceInformation: 'Opening balance',
      },
    ],
  };
}

function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}
