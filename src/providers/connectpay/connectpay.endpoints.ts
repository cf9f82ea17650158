import type { HostFamily } from '../provider-endpoints';
import { ProviderError } from '../provider.port';

/**
 * Every ConnectPay API the product calls, with the host family it lives on. Person-data APIs are
 * on the mTLS host; Merchant API v2 on the one-way host; the two never mix (seed 003).
 */
export const CONNECTPAY_ENDPOINTS = {
  token: { family: 'mtls', method: 'POST', path: '/auth/v1/oauth2/token', idempotent: false },
  accounts: { family: 'mtls', method: 'GET', path: '/ob/accounts', idempotent: true },
  transactions: { family: 'mtls', method: 'GET', path: '/ob/accounts/:accountId/transactions', idempotent: true },
  paymentRails: { family: 'mtls', method: 'POST', path: '/ob/paymentrails', idempotent: true },
  initiatePayment: { family: 'mtls', method: 'POST', path: '/ob/payments', idempotent: false },
  authorisePayment: {
    family: 'mtls',
    method: 'POST',
    path: '/ob/payments/:paymentOrderNo/authorisations/nosca',
    idempotent: true,
  },
  paymentStatus: { family: 'mtls', method: 'GET', path: '/ob/payments/:paymentOrderNo/status', idempotent: true },
  merchantCreatePayment: { family: 'tls', method: 'POST', path: '/merchant/payments', idempotent: false },
  merchantGetPayment: { family: 'tls', method: 'GET', path: '/merchant/payments/:paymentId', idempotent: true },
} as const satisfies Record<string, { family: HostFamily; method: 'GET' | 'POST'; path: string; idempotent: boolean }>;

export type ConnectPayEndpoint = keyof typeof CONNECTPAY_ENDPOINTS;

/** Refuses to send an API to the host family it does not belong to. */
export function assertHostFamily(endpoint: ConnectPayEndpoint, family: HostFamily): void {
  const declared = CONNECTPAY_ENDPOINTS[endpoint].family;
  if (declared !== family) {
    throw new ProviderError(
      'PROVIDER_NOT_CONFIGURED',
      `ConnectPay ${endpoint} is served on the ${declared === 'mtls' ? 'mTLS' : 'one-way TLS'} host only; it is never sent to the ${family === 'mtls' ? 'mTLS' : 'one-way TLS'} host.`,
    );
  }
}

export function endpointPath(
  endpoint: ConnectPayEndpoint,
  params: Record<string, string> = {},
  query?: URLSearchParams,
): string {
  const path = CONNECTPAY_ENDPOINTS[endpoint].path.replace(/:([A-Za-z]+)/g, (_m, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  return query && [...query].length > 0 ? `${path}?${query.toString()}` : path;
}
