import type { ServerOptions } from 'node:https';
import { Deliverer, post } from '../kit/outbound';
import type { SimRequest, SimResponse } from '../kit/http-server';
import { fieldText, SimServer } from '../kit/http-server';
import { seededRandom } from '../kit/faults';
import { Timers } from '../kit/timers';
import { isValidPayloadSignature, notificationControl } from './d24-signature';

/**
 * D24 Cashouts API v3, as documented (provider notes d24-cashouts.md, seed 004): body
 * credentials, HMAC Payload-Signature over the exact bytes, source-IP allow-list, D24's error
 * codes, the status life cycle, and form-encoded notifications verified by `control`.
 */
export interface D24Merchant {
  apiKey: string;
  apiPassphrase: string;
  apiSignature: string;
  readOnlyKey?: string;
}

export interface D24Settings {
  merchants: D24Merchant[];
  allowedIps: string[];
  /** Available balance per currency, decimal strings. */
  balances: Record<string, string>;
  timeline: { deliverAfterMs: number; completeAfterMs: number };
  notifications: { retryDelaysMs: number[]; duplicate: boolean; reorderWindowMs: number };
  controlAffixes: { prefix: string; suffix: string };
  /**
   * A fault switch: creates asked with on_hold are created PENDING, as for a merchant account
   * without holds enabled. The client must notice it from the status and hold it.
   */
  ignoreOnHoldAtCreate: boolean;
}

export const D24_STATUS = { PENDING: 0, COMPLETED: 1, CANCELLED: 2, REJECTED: 3, DELIVERED: 4, ON_HOLD: 5 } as const;
type D24StatusName = keyof typeof D24_STATUS;
const DESCRIPTION: Record<D24StatusName, string> = {
  PENDING: 'Pending',
  COMPLETED: 'Completed',
  CANCELLED: 'Canceled',
  REJECTED: 'Rejected',
  DELIVERED: 'Delivered',
  ON_HOLD: 'On hold',
};

/** Test inputs that steer a cashout (documented in the README). */
export const D24_TEST_ACCOUNTS = {
  /** Rejected by the bank on delivery: 800 ERROR_ACCOUNT_INCORRECT. */
  rejected: '0000000000',
  /** Completed, then reversed by the bank: REJECTED with 826 WITHDRAWAL_REVERSED. */
  reversed: '9999999999',
} as const;

const REJECTIONS: Record<number, string> = { 800: 'ERROR_ACCOUNT_INCORRECT', 826: 'WITHDRAWAL_REVERSED' };

export interface D24LedgerEntry {
  cashoutId: number;
  externalId: string;
  login: string;
  amount: string;
  currency: string;
  country: string;
  status: D24StatusName;
  history: Array<{ status: D24StatusName; at: string }>;
  rejectionCode?: number;
  bankAccount?: string;
  /** The holder's address fields as received (address, city, postal_code, beneficiary_birthdate), when sent. */
  holder?: Record<string, string>;
  notificationUrl: string;
  createdAt: string;
}

const REQUIRED = ['external_id', 'country', 'amount', 'document_id', 'beneficiary_name', 'notification_url'] as const;
const MAX_LENGTH: Record<string, number> = {
  external_id: 100,
  document_id: 40,
  document_type: 15,
  beneficiary_name: 100,
  beneficiary_lastname: 100,
  email: 100,
  phone: 20,
  bank_account: 30,
  bank_branch: 15,
  account_type: 1,
  address: 255,
  city: 100,
  postal_code: 20,
};
const HOLDER_FIELDS = ['address', 'city', 'postal_code', 'beneficiary_birthdate'] as const;
const BANKS: Record<string, Array<{ code: number; name: string }>> = {
  BR: [
    { code: 1, name: 'Banco do Brasil' },
    { code: 104, name: 'Caixa Econômica Federal' },
    { code: 341, name: 'Itaú Unibanco' },
  ],
  MX: [
    { code: 2, name: 'Banamex' },
    { code: 12, name: 'BBVA México' },
    { code: 72, name: 'Banorte' },
  ],
  CO: [
    { code: 7, name: 'Bancolombia' },
    { code: 51, name: 'Davivienda' },
  ],
  AR: [
    { code: 11, name: 'Banco de la Nación Argentina' },
    { code: 7, name: 'Banco de Galicia' },
  ],
  CL: [
    { code: 1, name: 'Banco de Chile' },
    { code: 12, name: 'BancoEstado' },
  ],
  PE: [
    { code: 2, name: 'BCP' },
    { code: 11, name: 'BBVA Perú' },
  ],
};
const CURRENCIES = new Set(['BRL', 'MXN', 'COP', 'ARS', 'CLP', 'PEN', 'USD', 'EUR']);

/** D24 answers each error code with a fixed HTTP status (400 request, 401 auth, 412 validation/not found). */
function d24Error(code: number, message: string, reason?: string): SimResponse {
  const status = [302, 401, 402].includes(code) ? 401 : [509, 510, 702].includes(code) ? 412 : 400;
  return { status, body: { code, message, ...(reason ? { reason } : {}) } };
}

const toCents = (amount: string) => Math.round(Number(amount) * 100);

export class D24Simulator {
  readonly server: SimServer;
  readonly ledger: D24LedgerEntry[] = [];
  readonly notifier: Deliverer;
  private readonly byId = new Map<number, D24LedgerEntry>();
  private readonly byExternalId = new Map<string, D24LedgerEntry>();
  private readonly balanceCents = new Map<string, number>();
  private readonly timers = new Timers();
  private nextId = 8_405_147;

  constructor(
    tls: ServerOptions,
    readonly settings: D24Settings,
    seed = 1,
  ) {
    this.server = new SimServer('d24', tls, seed);
    this.setBalances(settings.balances);
    this.notifier = new Deliverer(() => this.settings.notifications, seededRandom(seed + 7));
    this.server
      .route('POST', '/v3/cashout', (r) => this.authenticated(r, (body, merchant) => this.create(body, merchant)))
      .route('POST', '/v3/cashout/status', (r) =>
        this.authenticated(r, (body, merchant) => this.status(body, merchant)),
      )
      .route('DELETE', '/v3/cashout/cancel', (r) =>
        this.authenticated(r, (body, merchant) => this.cancel(body, merchant)),
      )
      .route('PUT', '/v3/cashout/status', (r) => this.authenticated(r, (body, merchant) => this.hold(body, merchant)))
      .route('GET', '/v3/banks', (r) => this.banks(r))
      .otherwise(() => ({ status: 404, body: { code: 404, message: 'Not found' } }));
  }

  setBalances(balances: Record<string, string>): void {
    for (const [currency, amount] of Object.entries(balances)) this.balanceCents.set(currency, toCents(amount));
  }

  balances(): Record<string, string> {
    return Object.fromEntries([...this.balanceCents].map(([currency, cents]) => [currency, (cents / 100).toFixed(2)]));
  }

  close(): void {
    this.timers.clear();
    this.notifier.close();
  }

  private allowed(request: SimRequest): boolean {
    const ip = request.remoteAddress.replace(/^::ffff:/, '');
    return this.settings.allowedIps.includes(ip) || this.settings.allowedIps.includes(request.remoteAddress);
  }

  private headerProblem(request: SimRequest): SimResponse | null {
    if (!/^application\/json\b/i.test(String(request.headers['content-type'] ?? ''))) {
      return d24Error(300, 'Invalid params', 'Content-Type must be application/json');
    }
    if (!request.headers['user-agent']) return d24Error(300, 'Invalid params', 'User-Agent header is required');
    return null;
  }

  /** IP, body, credentials, then the signature over the exact bytes received. */
  private authenticated(
    request: SimRequest,
    handle: (body: Record<string, unknown>, merchant: D24Merchant) => SimResponse,
  ): SimResponse {
    if (!this.allowed(request))
      return d24Error(402, 'Unregistered IP', `Address ${request.remoteAddress} is not whitelisted`);
    const headers = this.headerProblem(request);
    if (headers) return headers;
    const signature = request.headers['payload-signature'];
    if (typeof signature !== 'string' || signature === '')
      return d24Error(302, 'Invalid signature', 'Payload-Signature header is missing');
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      return d24Error(502, 'Malformed body');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return d24Error(502, 'Malformed body');
    const fields = body as Record<string, unknown>;
    const merchant = this.settings.merchants.find((m) => m.apiKey === fields.login && m.apiPassphrase === fields.pass);
    if (!merchant) return d24Error(401, 'Invalid credentials');
    // The API Key and Passphrase go as HTTP Basic credentials too, and must be the same merchant's.
    const basic = basicCredentials(request.headers.authorization);
    if (!basic || basic.user !== merchant.apiKey || basic.password !== merchant.apiPassphrase)
      return d24Error(
        401,
        'Invalid credentials',
        'HTTP Basic credentials (API Key, API Passphrase) are missing or wrong',
      );
    if (!isValidPayloadSignature(merchant.apiSignature, request.rawBody, signature))
      return d24Error(302, 'Invalid signature');
    return handle(fields, merchant);
  }

  private create(body: Record<string, unknown>, merchant: D24Merchant): SimResponse {
    const missing = REQUIRED.filter((field) => body[field] === undefined || body[field] === null || body[field] === '');
    if (missing.length > 0) return d24Error(300, 'Invalid params', `Missing fields: ${missing.join(', ')}`);
    for (const [field, max] of Object.entries(MAX_LENGTH)) {
      if (body[field] !== undefined && fieldText(body[field]).length > max)
        return d24Error(300, 'Invalid params', `${field} is longer than ${max}`);
    }
    if (body.beneficiary_birthdate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(fieldText(body.beneficiary_birthdate)))
      return d24Error(300, 'Invalid params', 'beneficiary_birthdate must be YYYY-MM-DD');
    const amount = body.amount;
    if (
      typeof amount !== 'number' ||
      !Number.isFinite(amount) ||
      Math.abs(amount * 100 - Math.round(amount * 100)) > 1e-6
    ) {
      return d24Error(300, 'Invalid params', 'amount must be a number with at most 2 decimals');
    }
    if (amount < 1) return d24Error(533, 'Amount below minimum');
    const country = String(body.country);
    if (!Object.hasOwn(BANKS, country)) return d24Error(518, 'Country not available');
    const currency = fieldText(body.currency ?? 'USD');
    if (!CURRENCIES.has(currency)) return d24Error(526, 'Invalid currency');
    if (body.bank_code !== undefined && !BANKS[country].some((bank) => bank.code === Number(body.bank_code))) {
      return d24Error(303, 'Invalid bank code');
    }
    const externalId = String(body.external_id);
    const key = `${merchant.apiKey}:${externalId}`;
    if (this.byExternalId.has(key))
      return d24Error(
        511,
        'External ID already used',
        `external_id ${externalId} was used by cashout ${this.byExternalId.get(key)!.cashoutId}`,
      );
    const cents = Math.round(amount * 100);
    const available = this.balanceCents.get(currency) ?? 0;
    if (cents > available) return d24Error(514, 'Insufficient funds');
    this.balanceCents.set(currency, available - cents);

    const now = new Date().toISOString();
    const entry: D24LedgerEntry = {
      cashoutId: this.nextId++,
      externalId,
      login: merchant.apiKey,
      amount: (cents / 100).toFixed(2),
      currency,
      country,
      status: body.on_hold === true && !this.settings.ignoreOnHoldAtCreate ? 'ON_HOLD' : 'PENDING',
      history: [],
      bankAccount: body.bank_account === undefined ? undefined : fieldText(body.bank_account),
      ...holderOf(body),
      notificationUrl: String(body.notification_url),
      createdAt: now,
    };
    entry.history.push({ status: entry.status, at: now });
    this.ledger.push(entry);
    this.byId.set(entry.cashoutId, entry);
    this.byExternalId.set(key, entry);
    if (entry.status === 'PENDING') this.scheduleDelivery(entry, merchant);
    return { status: 200, body: { cashout_id: String(entry.cashoutId) } };
  }

  private find(
    body: Record<string, unknown>,
    merchant: D24Merchant,
  ): { entry: D24LedgerEntry } | { error: SimResponse } {
    const byId = body.cashout_id !== undefined ? this.byId.get(Number(body.cashout_id)) : undefined;
    const byExternal =
      body.external_id !== undefined
        ? this.byExternalId.get(`${merchant.apiKey}:${fieldText(body.external_id)}`)
        : undefined;
    if (body.cashout_id === undefined && body.external_id === undefined) {
      return { error: d24Error(300, 'Invalid params', 'cashout_id or external_id is required') };
    }
    const entry = byId ?? byExternal;
    if (!entry || entry.login !== merchant.apiKey || (byId && byExternal && byId !== byExternal))
      return { error: d24Error(509, 'Cashout not found') };
    return { entry };
  }

  private statusBody(entry: D24LedgerEntry): Record<string, unknown> {
    return {
      cashout_status: D24_STATUS[entry.status],
      cashout_status_description: DESCRIPTION[entry.status],
      ...(entry.rejectionCode
        ? { rejection_code: entry.rejectionCode, rejection_reason: REJECTIONS[entry.rejectionCode] }
        : {}),
    };
  }

  private status(body: Record<string, unknown>, merchant: D24Merchant): SimResponse {
    const found = this.find(body, merchant);
    return 'error' in found ? found.error : { status: 200, body: this.statusBody(found.entry) };
  }

  private cancel(body: Record<string, unknown>, merchant: D24Merchant): SimResponse {
    const found = this.find(body, merchant);
    if ('error' in found) return found.error;
    const { entry } = found;
    if (entry.status !== 'PENDING' && entry.status !== 'ON_HOLD')
      return d24Error(702, 'Could not cancel', `Cashout is ${entry.status}`);
    this.refund(entry);
    this.move(entry, 'CANCELLED', merchant);
    return { status: 200, body: this.statusBody(entry) };
  }

  private hold(body: Record<string, unknown>, merchant: D24Merchant): SimResponse {
    const found = this.find(body, merchant);
    if ('error' in found) return found.error;
    const { entry } = found;
    const target = body.status;
    if (target !== 'ON_HOLD' && target !== 'PENDING')
      return d24Error(300, 'Invalid params', 'status must be ON_HOLD or PENDING');
    const allowed =
      (entry.status === 'PENDING' && target === 'ON_HOLD') || (entry.status === 'ON_HOLD' && target === 'PENDING');
    if (!allowed) return d24Error(510, 'Invalid status transition', `${entry.status} cannot become ${target}`);
    this.move(entry, target, merchant);
    if (target === 'PENDING') this.scheduleDelivery(entry, merchant);
    return { status: 200, body: this.statusBody(entry) };
  }

  private banks(request: SimRequest): SimResponse {
    if (!this.allowed(request)) return d24Error(402, 'Unregistered IP');
    const token = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const merchant = this.settings.merchants.find((m) => m.readOnlyKey && m.readOnlyKey === token);
    if (!merchant) return d24Error(401, 'Invalid credentials', 'A read-only key is required as a Bearer token');
    if (
      !isValidPayloadSignature(
        merchant.apiSignature,
        request.rawBody,
        request.headers['payload-signature'] as string | undefined,
      )
    ) {
      return d24Error(302, 'Invalid signature');
    }
    const country = request.query.get('country') ?? '';
    if (!Object.hasOwn(BANKS, country)) return d24Error(518, 'Country not available');
    return { status: 200, body: BANKS[country] };
  }

  private scheduleDelivery(entry: D24LedgerEntry, merchant: D24Merchant): void {
    const { deliverAfterMs, completeAfterMs } = this.settings.timeline;
    const { bankAccount } = entry;
    this.timers.later(deliverAfterMs, () => {
      if (entry.status !== 'PENDING') return;
      if (bankAccount === D24_TEST_ACCOUNTS.rejected) {
        entry.rejectionCode = 800;
        this.refund(entry);
        return this.move(entry, 'REJECTED', merchant);
      }
      this.move(entry, 'DELIVERED', merchant);
      this.timers.later(completeAfterMs, () => {
        if (entry.status !== 'DELIVERED') return;
        this.move(entry, 'COMPLETED', merchant);
        if (bankAccount === D24_TEST_ACCOUNTS.reversed) {
          this.timers.later(completeAfterMs, () => {
            entry.rejectionCode = 826;
            this.refund(entry);
            this.move(entry, 'REJECTED', merchant);
          });
        }
      });
    });
  }

  private refund(entry: D24LedgerEntry): void {
    this.balanceCents.set(entry.currency, (this.balanceCents.get(entry.currency) ?? 0) + toCents(entry.amount));
  }

  private move(entry: D24LedgerEntry, status: D24StatusName, merchant: D24Merchant): void {
    entry.status = status;
    entry.history.push({ status, at: new Date().toISOString() });
    this.notify(entry, merchant);
  }

  /** The notification carries no status: the merchant must ask for it (and verify `control`). */
  private notify(entry: D24LedgerEntry, merchant: D24Merchant): void {
    const { prefix, suffix } = this.settings.controlAffixes;
    const form = new URLSearchParams({
      date: new Date().toISOString().replace('T', ' ').slice(0, 19),
      bank_reference_id: `BR${entry.cashoutId}`,
      comments: '',
      external_id: entry.externalId,
      control: notificationControl(merchant.apiSignature, entry.externalId, prefix, suffix),
      cashout_id: String(entry.cashoutId),
      status_reason: entry.rejectionCode ? REJECTIONS[entry.rejectionCode] : '',
    }).toString();
    this.notifier.deliver(
      entry.notificationUrl,
      () =>
        post(entry.notificationUrl, form, {
          'Content-Type': 'application/x-www-form-urlencoded',
          'User-Agent': 'D24-Simulator',
        }),
      (result) => result.status >= 200 && result.status < 300,
    );
  }
}

/** The simulator's own reading of an HTTP Basic header (RFC 7617); null when absent or malformed. */
function basicCredentials(header: string | string[] | undefined): { user: string; password: string } | null {
  const match = typeof header === 'string' ? /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim()) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The holder fields a cashout carried, for the ledger (absent when none was sent). */
function holderOf(body: Record<string, unknown>): { holder?: Record<string, string> } {
  const sent = HOLDER_FIELDS.filter((field) => body[field] !== undefined && body[field] !== null);
  return sent.length ? { holder: Object.fromEntries(sent.map((field) => [field, fieldText(body[field])])) } : {};
}
