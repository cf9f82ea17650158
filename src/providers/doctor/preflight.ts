/**
 * The provider doctor's vocabulary: one named check, its verdict, what it found and, when it did
 * not pass, what to change. Plain data (no HTTP, no ORM): the provider clients produce their own
 * checks in these words, the doctor adds the ones every provider shares.
 */

export type PreflightStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What a provider's own checks may need from the doctor. */
export interface PreflightContext {
  /** PUBLIC_BASE_URL: where the provider's notifications are sent. */
  publicBaseUrl: string | undefined;
  /** Name resolution the doctor uses everywhere (one resolver, fakeable in tests). */
  lookup: (hostName: string) => Promise<Array<{ address: string; family: number }>>;
  /** The environment moves real money: a problem that would only warn elsewhere fails here. */
  live: boolean;
  /** The address our connection to the provider left from (this host's side), when a handshake told it. */
  localAddress: string | undefined;
}

export interface PreflightCheck {
  /** Stable and short, e.g. `dns:tls`, `authentication`, `clock`. */
  name: string;
  status: PreflightStatus;
  /** What was found, naming the cause when it is not a pass. */
  message: string;
  /** What to change; null on a pass. */
  fix: string | null;
}

export const passed = (name: string, message: string): PreflightCheck => ({ name, status: 'pass', message, fix: null });
export const failed = (name: string, message: string, fix: string): PreflightCheck => ({
  name,
  status: 'fail',
  message,
  fix,
});
export const warned = (name: string, message: string, fix: string): PreflightCheck => ({
  name,
  status: 'warn',
  message,
  fix,
});
export const skipped = (name: string, message: string): PreflightCheck => ({
  name,
  status: 'skip',
  message,
  fix: null,
});

/**
 * HTTP Date has a resolution of a second and the answer spends time on the wire: a minute of
 * difference is noise, five are a clock that is wrong. A wrong clock breaks certificate validity
 * checks, OAuth token lifetimes and any signed timestamp, so it is worth naming before it bites.
 */
export const CLOCK_WARN_SECONDS = 60;
export const CLOCK_FAIL_SECONDS = 300;

/** Our clock against the provider's, from the Date header of an answer received at `receivedAt`. */
export function clockCheck(providerName: string, dateHeader: string | undefined, receivedAt: Date): PreflightCheck {
  const theirs = dateHeader ? Date.parse(dateHeader) : Number.NaN;
  if (!Number.isFinite(theirs))
    return skipped('clock', `${providerName} sent no readable Date header; the clock could not be compared.`);
  const skewSeconds = Math.round((receivedAt.getTime() - theirs) / 1000);
  const said =
    Math.abs(skewSeconds) <= 1
      ? `Our clock agrees with ${providerName}'s (to the second the Date header shows).`
      : `Our clock is ${Math.abs(skewSeconds)} s ${skewSeconds > 0 ? 'ahead of' : 'behind'} ${providerName}'s.`;
  const fix =
    'Synchronise this host with NTP (timedatectl set-ntp true, or chrony): certificates, tokens and signed timestamps depend on it.';
  if (Math.abs(skewSeconds) > CLOCK_FAIL_SECONDS) return failed('clock', said, fix);
  if (Math.abs(skewSeconds) > CLOCK_WARN_SECONDS) return warned('clock', said, fix);
  return passed('clock', said);
}

/**
 * A provider call the doctor made that failed: the error's message (ours, never a secret) as
 * what was found, and the fix it carries when it has one ("… . Store …"), else `fallbackFix`.
 */
export function failedCall(name: string, error: unknown, fallbackFix: string): PreflightCheck {
  const message = error instanceof Error ? error.message : String(error);
  const sentences = message.split(/(?<=\.) (?=[A-Z])/);
  return sentences.length > 1
    ? failed(name, sentences[0], sentences.slice(1).join(' '))
    : failed(name, message, fallbackFix);
}
