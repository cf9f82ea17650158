import { DestinationPolicy, DestinationRefusedError, type HostLookup } from '../../events/destination-policy';

/**
 * Why D24 could not post notifications under `publicBaseUrl`, as a sentence that says what to set;
 * null when it can. D24's rule (seed 004: HTTPS on 443 from the internet), kept apart from the
 * start-up check so the client's doctor checks use it too.
 */
export async function d24NotificationUrlProblem(
  publicBaseUrl: string | undefined,
  lookup: HostLookup,
): Promise<string | null> {
  const fix = 'Set PUBLIC_BASE_URL to the public https:// address (port 443) D24 posts notifications to.';
  if (!publicBaseUrl) return `PUBLIC_BASE_URL is not set. ${fix}`;
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    return `PUBLIC_BASE_URL is not a URL. ${fix}`;
  }
  if (url.protocol !== 'https:') return `PUBLIC_BASE_URL is ${url.protocol.replace(/:$/, '')}, not https. ${fix}`;
  if (url.port !== '') return `PUBLIC_BASE_URL uses port ${url.port}; D24 posts to 443 only. ${fix}`;
  try {
    // The rules events use for destinations: public addresses only, the name resolved.
    await new DestinationPolicy({ allowed: undefined, requireHttps: true }).check(url.toString(), lookup);
    return null;
  } catch (error) {
    if (error instanceof DestinationRefusedError)
      return `D24 could not reach PUBLIC_BASE_URL: ${error.refusal.reason}. ${fix}`;
    throw error;
  }
}
