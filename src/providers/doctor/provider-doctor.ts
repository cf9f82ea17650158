import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { Environment } from '../../config/environment';
import { CredentialVault } from '../../credentials/credential-vault.service';
import { IN_SERVICE_STATUSES } from '../../credentials/domain/credential';
import { DestinationResolver, resolveHost } from '../../events/destination-policy';
import { CredentialedHttp, type TlsProbe } from '../http/credentialed-http';
import { descriptorOf } from '../provider-catalogue';
import type { HostFamily } from '../provider-descriptor';
import { ProviderEndpoints } from '../provider-endpoints';
import { ProviderError, type Provider, type ProviderEnvironment } from '../provider.port';
import { ProviderRegistry } from '../provider.registry';
import type { PreflightCheck } from './preflight';
import { failed, passed, skipped, warned } from './preflight';

/** The doctor's answer: every check in the order it ran, and whether any failed. */
export interface DoctorReport {
  provider: Provider;
  environment: ProviderEnvironment;
  /** No check failed (warnings allowed). */
  ok: boolean;
  checkedAt: Date;
  checks: PreflightCheck[];
}

/** Fewer days than this to a certificate's end is a warning (the alert rules use the same 14). */
const EXPIRY_WARN_DAYS = 14;
const DAY_MS = 86_400_000;
/** The self-check through PUBLIC_BASE_URL gives up after this. */
const NOTIFICATION_PROBE_TIMEOUT_MS = 5_000;
/** The deadline of a whole run, in provider call timeouts: hosts, handshakes and a few read-only calls. */
const DOCTOR_CALLS_PER_RUN = 6;

/**
 * The provider doctor: a read-only preflight of one provider environment, run against the hosts
 * configuration names, with the credentials in service, from this host. It says for each thing
 * that must hold before a real payout (host configured, name resolving, TLS with our client
 * certificate, credentials not expiring, the provider accepting our authentication, clocks, the
 * notification URL) whether it does, and when not, what to change. One run per environment at a
 * time: a second request while one runs gets the same report.
 */
@Injectable()
export class ProviderDoctor {
  private readonly running = new Map<string, Promise<DoctorReport>>();
  /** Runs answered at their deadline that still wait on a provider: no new run starts meanwhile. */
  private readonly late = new Set<string>();

  constructor(
    private readonly environment: Environment,
    private readonly endpoints: ProviderEndpoints,
    private readonly http: CredentialedHttp,
    private readonly registry: ProviderRegistry,
    private readonly vault: CredentialVault,
    private readonly resolver: DestinationResolver,
  ) {}

  examine(provider: Provider, environment: ProviderEnvironment): Promise<DoctorReport> {
    const key = `${provider}:${environment}`;
    if (this.late.has(key)) return Promise.resolve(stillWaiting(provider, environment));
    let run = this.running.get(key);
    if (!run) {
      run = this.runWithin(provider, environment).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  /**
   * Every call has its own timeouts, but a run makes several in a row: the whole run answers
   * within a deadline of its own, with the checks done so far and one failed check saying which
   * were not reached, so an operator (or the CLI) is never left waiting on a silent host.
   */
  private async runWithin(provider: Provider, environment: ProviderEnvironment): Promise<DoctorReport> {
    const checks: PreflightCheck[] = [];
    const deadlineMs =
      DOCTOR_CALLS_PER_RUN *
      (this.environment.PROVIDER_CONNECT_TIMEOUT_MS + this.environment.PROVIDER_RESPONSE_TIMEOUT_MS);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), deadlineMs);
    });
    const work = this.run(provider, environment, checks);
    try {
      const outcome = await Promise.race([work, deadline]);
      if (outcome !== 'late') return outcome;
    } finally {
      clearTimeout(timer);
    }
    // The late run goes on until its own timeouts end it; what it finds then is not reported,
    // and until then a new request is answered at once instead of stacking another run.
    const key = `${provider}:${environment}`;
    this.late.add(key);
    void work.catch(() => undefined).finally(() => this.late.delete(key));
    const done = [...checks];
    done.push(
      failed(
        'doctor',
        `The checks did not finish within ${Math.round(deadlineMs / 1000)} s; the one after ${done.at(-1)?.name ?? 'the start'} was still waiting, and the rest were not run.`,
        'A host that accepts connections but answers slowly looks like this: run the doctor again, and check the network path to the provider.',
      ),
    );
    return { provider, environment, ok: false, checkedAt: new Date(), checks: done };
  }

  private async run(
    provider: Provider,
    environment: ProviderEnvironment,
    checks: PreflightCheck[],
  ): Promise<DoctorReport> {
    const descriptor = descriptorOf(provider);
    let reachable = true;
    let localAddress: string | undefined;
    for (const family of descriptor.hostFamilies) {
      const host = this.hostCheck(provider, environment, family);
      checks.push(host.check);
      if (!host.url) {
        reachable = false;
        continue;
      }
      const dns = await this.dnsCheck(family, host.url);
      checks.push(dns);
      if (dns.status === 'fail') {
        reachable = false;
        checks.push(skipped(`tls:${family}`, 'Not tried: the host name does not resolve.'));
        continue;
      }
      const tls = await this.tlsCheck(provider, environment, family, host.url);
      checks.push(tls.check);
      if (tls.check.status === 'fail') reachable = false;
      localAddress ??= tls.probe?.localAddress;
    }
    checks.push(...(await this.credentialChecks(provider, environment)));
    if (reachable) {
      checks.push(
        ...(await this.registry.get(provider, environment).preflight({
          publicBaseUrl: this.environment.PUBLIC_BASE_URL,
          lookup: (name) => this.resolver.lookup(name),
          live: (descriptor.liveEnvironments as readonly string[]).includes(environment),
          localAddress,
        })),
      );
    } else {
      checks.push(skipped('authentication', `Not tried: ${descriptor.displayName} cannot be reached (see above).`));
    }
    if (descriptor.webhook.kind === 'route') checks.push(await this.notificationReachability());
    return {
      provider,
      environment,
      ok: checks.every((check) => check.status !== 'fail'),
      checkedAt: new Date(),
      checks,
    };
  }

  private hostCheck(
    provider: Provider,
    environment: ProviderEnvironment,
    family: HostFamily,
  ): { check: PreflightCheck; url?: URL } {
    const name = `host:${family}`;
    try {
      const url = new URL(this.endpoints.baseUrl(provider, environment, family));
      return { check: passed(name, `Configured: ${url.origin}.`), url };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        check: failed(name, message, 'Set the base URL variable named above (README, Configuration) and restart.'),
      };
    }
  }

  private async dnsCheck(family: HostFamily, url: URL): Promise<PreflightCheck> {
    const name = `dns:${family}`;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return passed(name, `${host} is an address; nothing to resolve.`);
    try {
      const addresses = await resolveHost(host, (hostName) => this.resolver.lookup(hostName));
      return passed(name, `${host} resolves to ${addresses.map((entry) => entry.address).join(', ')}.`);
    } catch (error) {
      const code = (error as { code?: string } | null)?.code ?? 'ENOTFOUND';
      return failed(
        name,
        `${host} does not resolve from this host (${code}).`,
        'Check the host name in the base URL and this host’s DNS (resolv.conf, a private zone the provider told you to use).',
      );
    }
  }

  private async tlsCheck(
    provider: Provider,
    environment: ProviderEnvironment,
    family: HostFamily,
    url: URL,
  ): Promise<{ check: PreflightCheck; probe?: TlsProbe }> {
    const name = `tls:${family}`;
    let probe: TlsProbe;
    try {
      probe = await this.http.probeTls(provider, environment, family);
    } catch (error) {
      return { check: tlsFailure(name, url, error) };
    }
    const days = Math.floor((probe.serverValidTo.getTime() - Date.now()) / DAY_MS);
    const client = probe.clientCertificate
      ? ` Our client certificate (credential ${probe.clientCertificate.id}) was accepted.`
      : '';
    const said = `${probe.protocol} with ${url.host} (server certificate ${probe.serverSubject || 'without a CN'}, valid ${days} more days).${client}`;
    if (days < EXPIRY_WARN_DAYS)
      return {
        check: warned(
          name,
          said,
          'The provider’s server certificate ends soon; ask them whether a renewal is planned.',
        ),
        probe,
      };
    return { check: passed(name, said), probe };
  }

  /**
   * Whether PUBLIC_BASE_URL leads to this service: GET <PUBLIC_BASE_URL>/health through it, as a
   * provider's notification would travel (DNS, TLS with a publicly trusted certificate, the load
   * balancer, no redirect). Only a warning when it does not: from inside the network the path can
   * differ from the internet's (split-horizon DNS, no hairpin NAT), and the reverse proves nothing
   * either, so it is a hint to check, not a verdict.
   */
  private async notificationReachability(): Promise<PreflightCheck> {
    const name = 'notification_reachable';
    const base = this.environment.PUBLIC_BASE_URL;
    if (!base) return skipped(name, 'Not tried: PUBLIC_BASE_URL is not set.');
    const fix =
      'Make PUBLIC_BASE_URL route to this service (DNS, load balancer, TLS certificate), then check it from outside your network too.';
    let url: URL;
    try {
      url = new URL('health', base.endsWith('/') ? base : `${base}/`);
    } catch {
      return failed(name, 'PUBLIC_BASE_URL is not a URL.', fix);
    }
    try {
      const response = await fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(NOTIFICATION_PROBE_TIMEOUT_MS),
      });
      const body = await firstBytes(response, 256);
      if (response.status === 200 && body === '{"status":"ok"}')
        return passed(name, `${url.origin} answers GET /health as this service does, from here.`);
      const redirect = response.status >= 300 && response.status < 400;
      return warned(
        name,
        redirect
          ? `${url.origin} answers with a redirect (HTTP ${response.status}): providers post notifications without following redirects.`
          : `${url.origin} answered GET /health with HTTP ${response.status}, not this service's answer.`,
        fix,
      );
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.name : String(error));
      return warned(name, `${url.origin} could not be reached from here (${why}).`, fix);
    }
  }

  /** Every credential in service for the environment, by the time left on it. */
  private async credentialChecks(provider: Provider, environment: ProviderEnvironment): Promise<PreflightCheck[]> {
    const inService = (await this.vault.list({ provider, environment })).filter((credential) =>
      IN_SERVICE_STATUSES.includes(credential.status),
    );
    if (inService.length === 0)
      return [
        failed(
          'credentials',
          `No credential is in service for ${provider} ${environment}.`,
          `Store and activate them under /v1/credentials/${provider} (README, Credentials).`,
        ),
      ];
    return inService.map((credential) => {
      const name = `credential:${credential.kind}`;
      const ends = credential.certificate?.notAfter ?? credential.expiresAt;
      if (!ends) return passed(name, `Credential ${credential.id} is in service and does not expire.`);
      const days = Math.floor((ends.getTime() - Date.now()) / DAY_MS);
      const rotate = `Rotate it: store and activate its successor under /v1/credentials/${provider} before ${ends.toISOString()}.`;
      if (days < 0) return failed(name, `Credential ${credential.id} expired on ${ends.toISOString()}.`, rotate);
      if (days < EXPIRY_WARN_DAYS)
        return warned(name, `Credential ${credential.id} expires in ${days} days (${ends.toISOString()}).`, rotate);
      return passed(name, `Credential ${credential.id} is in service for ${days} more days.`);
    });
  }
}

/** The answer while a run that missed its deadline still waits on the provider. */
function stillWaiting(provider: Provider, environment: ProviderEnvironment): DoctorReport {
  return {
    provider,
    environment,
    ok: false,
    checkedAt: new Date(),
    checks: [
      failed(
        'doctor',
        'The previous run missed its deadline and is still waiting on the provider; nothing new was started.',
        'Run the doctor again in a minute, and check the network path to the provider.',
      ),
    ],
  };
}

/** A handshake that failed, with the cause named from Node's TLS and socket codes. */
function tlsFailure(name: string, url: URL, error: unknown): PreflightCheck {
  if (error instanceof ProviderError)
    return failed(name, error.message, 'Store and activate the credential named above, then run the doctor again.');
  const raw = (error as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : '';
  const message = error instanceof Error ? error.message : String(error);
  const at = `the TLS connection to ${url.host}`;
  if (code === 'ECONNREFUSED')
    return failed(name, `${at} was refused (nothing listens there).`, 'Check the port in the base URL.');
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return failed(
      name,
      `${at} failed (${code}): ${message}.`,
      'A firewall between this host and the provider, or an address the provider has not allow-listed, looks like this: check egress rules and the allow-list.',
    );
  if (/CERT_HAS_EXPIRED/.test(code))
    return failed(
      name,
      `${at}: the provider’s server certificate has expired.`,
      'Tell the provider; nothing can be sent until they renew it.',
    );
  if (/ALTNAME|HOSTNAME/i.test(code + message))
    return failed(
      name,
      `${at}: the server certificate is not for this host name (${message}).`,
      'Check the host in the base URL against the provider’s documentation.',
    );
  if (/UNABLE_TO|SELF_SIGNED|UNTRUSTED|LEAF_SIGNATURE/.test(code))
    return failed(
      name,
      `${at}: the provider’s server certificate is not trusted here (${code}).`,
      'Add the provider’s CA to PROVIDER_CA_FILE if the provider uses a private one; otherwise check for a TLS-intercepting proxy.',
    );
  if (/ALERT|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/i.test(code + message))
    return failed(
      name,
      `${at}: the provider refused our client certificate (${code || message}).`,
      'Check that the client certificate in service is the one the provider signed or registered for this environment, with its full chain.',
    );
  return failed(
    name,
    `${at} failed (${code || message}).`,
    'Run the doctor again; if it persists, check the network path to the provider.',
  );
}

/** At most `limit` bytes of an answer's body as text; the rest is not read. */
async function firstBytes(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
