/**
 * A typed client for payments-backend: the types are generated from openapi.json by
 * openapi-typescript (schema.d.ts, `npm run client`; a test fails when they drift), and requests go
 * through openapi-fetch, so paths, parameters, bodies and every declared answer are checked by
 * the TypeScript compiler. No casts are needed to use it under `--strict`.
 *
 *   const api = createPaymentsClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.KEY! });
 *   const { data, error } = await api.POST('/v1/payouts', {
 *     params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
 *     body: { provider: 'd24', environment: 'simulator', amount: '150.75', currency: 'BRL', beneficiary },
 *   });
 *   if (error) console.log(error.error.code); // ErrorCode union
 *   else console.log(data.status); // PayoutStatus union
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, paths };
type Schemas = components['schemas'];

export type Payout = Schemas['PayoutDto'];
export type PayoutStatus = Payout['status'];
export type CreatePayout = Schemas['CreatePayoutDto'];
export type PayoutEvent = Schemas['PayoutEventDto'];
export type Account = Schemas['AccountDto'];
export type Credential = Schemas['CredentialDto'];
export type ApiErrorBody = Schemas['ErrorBodyDto'];
export type ErrorCode = ApiErrorBody['error']['code'];
export type FieldProblem = Schemas['FieldProblemDto'];

/** The statuses after which a payout no longer changes on its own. */
export const FINAL_PAYOUT_STATUSES: readonly PayoutStatus[] = ['completed', 'failed', 'rejected', 'cancelled'];

export interface PaymentsClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  /** Where the service listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** An API key (pbk_…), sent as a bearer token on every request. */
  apiKey: string;
  headers?: Record<string, string>;
}

export type PaymentsClient = Client<paths>;

export function createPaymentsClient(options: PaymentsClientOptions): PaymentsClient {
  const { apiKey, headers, ...rest } = options;
  return createClient<paths>({ ...rest, headers: { ...headers, Authorization: `Bearer ${apiKey}` } });
}

/**
 * The field problems of a VALIDATION_FAILED (or CSR_RULES_VIOLATED, CERTIFICATE_REJECTED,
 * CSR_REJECTED) answer; empty for errors whose details are not a list.
 */
export function fieldProblems(body: ApiErrorBody): FieldProblem[] {
  const details = body.error.details;
  return Array.isArray(details) ? details : [];
}
