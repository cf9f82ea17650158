/**
 * Money as decimal strings with the currency's own precision (JPY 0, EUR 2, BHD 3 decimals).
 * Amounts are validated and normalised as text; no float ever represents money here.
 */
const SUPPORTED = new Set(Intl.supportedValuesOf('currency'));

export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && SUPPORTED.has(code);
}

/** Decimals per currency, asked of ICU once: building an Intl.NumberFormat costs about 20 µs, and every payout and every rendering asks. */
const DECIMALS = new Map<string, number>();

export function currencyDecimals(currency: string): number {
  let decimals = DECIMALS.get(currency);
  if (decimals === undefined) {
    decimals =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    // Only ISO codes reach here (validated first), so the map stays as small as the currency list.
    if (SUPPORTED.has(currency)) DECIMALS.set(currency, decimals);
  }
  return decimals;
}

export type AmountProblem = 'NOT_A_DECIMAL' | 'NOT_POSITIVE' | 'TOO_PRECISE' | 'TOO_LARGE';

/** Checks "12.30"-style amounts against the currency's precision; returns the normalised text or a problem. */
export function normaliseAmount(
  amount: string,
  currency: string,
): { amount: string } | { problem: AmountProblem; decimals: number } {
  const decimals = currencyDecimals(currency);
  const match = /^(\d{1,15})(?:\.(\d{1,6}))?$/.exec(amount);
  if (!match) return { problem: 'NOT_A_DECIMAL', decimals };
  const [, whole, fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > decimals) return { problem: 'TOO_PRECISE', decimals };
  const normalised = `${BigInt(whole)}${decimals > 0 ? '.' + fraction.padEnd(decimals, '0').slice(0, decimals) : ''}`;
  if (/^0(\.0+)?$/.test(normalised)) return { problem: 'NOT_POSITIVE', decimals };
  if (whole.length > 13) return { problem: 'TOO_LARGE', decimals };
  return { amount: normalised };
}

/** Formats a PostgreSQL numeric (a string) with the currency's precision. */
export function formatAmount(numeric: string, currency: string): string {
  const decimals = currencyDecimals(currency);
  const [whole, fraction = ''] = numeric.split('.');
  return decimals > 0 ? `${whole}.${fraction.padEnd(decimals, '0').slice(0, decimals)}` : whole;
}
