import { isIP } from 'node:net';
import { DestinationPolicy, DestinationRefusedError, type HostLookup } from '../../events/destination-policy';

/** Why D24 could not post notifications under PUBLIC_BASE_URL. */
export interface NotificationUrlProblem {
  /** What is wrong, then what to set. */
  message: string;
  /**
   * The URL itself is fine and only its name's resolution from here says otherwise. Split-horizon
   * DNS (a public name that resolves to a private address inside the network) looks exactly like
   * this, so a start-up check warns on it rather than refusing to start.
   */
  fromResolution: boolean;
}

/**
 * Why D24 could not post notifications under `publicBaseUrl`, with a sentence that says what to
 * set; null when it can. D24's rule (seed 004: HTTPS on 443 from the internet), kept apart from
 * the start-up check so the client's doctor checks use it too.
 */
export async function d24NotificationUrlProblem(
  publicBaseUrl: string | undefined,
  lookup: HostLookup,
): Promise<NotificationUrlProblem | null> {
  const fix = 'Set PUBLIC_BASE_URL to the public https:// address (port 443) D24 posts notifications to.';
  const ofTheUrl = (what: string) => ({ message: `${what} ${fix}`, fromResolution: false });
  if (!publicBaseUrl) return ofTheUrl('PUBLIC_BASE_URL is not set.');
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    return ofTheUrl('PUBLIC_BASE_URL is not a URL.');
  }
  if (url.protocol !== 'https:') return ofTheUrl(`PUBLIC_BASE_URL is ${url.protocol.replace(/:$/, '')}, not https.`);
  if (url.port !== '') return ofTheUrl(`PUBLIC_BASE_URL uses port ${url.port}; D24 posts to 443 only.`);
  // Names no public DNS ever answers (RFC 6761, RFC 6762, a single label, and the private-use
  // .internal): resolution is not needed to know D24 cannot reach them.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (
    !isIP(host.replace(/^\[|\]$/g, '')) &&
    (!host.includes('.') || /(^|\.)(localhost|local|internal|test|invalid|example|home\.arpa|lan)$/.test(host))
  )
    return ofTheUrl(`PUBLIC_BASE_URL's host ${host} is not a public name.`);
  // The rules events use for destinations: public addresses only. First the URL alone (an address
  // written in it), then the name resolved from here.
  const policy = new DestinationPolicy({ allowed: undefined, requireHttps: true });
  try {
    policy.parseUrl(url.toString());
  } catch (error) {
    if (error instanceof DestinationRefusedError)
      return ofTheUrl(`D24 could not reach PUBLIC_BASE_URL: ${error.refusal.reason}.`);
    throw error;
  }
  try {
    await policy.check(url.toString(), lookup);
    return null;
  } catch (error) {
    if (error instanceof DestinationRefusedError)
      return {
        message: `D24 could not reach PUBLIC_BASE_URL if the internet resolves it as this host does: ${error.refusal.reason}. ${fix}`,
        fromResolution: true,
      };
    throw error;
  }
}
