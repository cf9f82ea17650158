import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first.
import { Injectable } from '@nestjs/common';
import type { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as x509 from '@peculiar/x509';
import { Environment } from '../../config/environment';
import {
  DestinationPolicy,
  DestinationRefusedError,
  DestinationResolver,
  pinnedLookup,
} from '../../events/destination-policy';
import type { ChainFinding, ChainReport } from './connectpay.chain-lint';

/** A CRL fetch gives up after this: a chain check must answer an operator quickly. */
const FETCH_TIMEOUT_MS = 5_000;
/** Large public CAs publish CRLs of a few MiB; anything far above is not a CRL. */
const MAX_CRL_BYTES = 16 * 1024 * 1024;

/**
 * Is the leaf of a client chain revoked? ConnectPay's rule is a CA-issued chain; a revoked leaf
 * would be refused at the first handshake, after it was stored and registered. The CRL the leaf
 * names (CRL distribution points, http or https) is fetched, its signature checked against the
 * leaf's issuer, and the leaf's serial looked up: revoked is an error (LEAF_REVOKED); a CRL that
 * cannot be fetched, read or trusted is a warning (REVOCATION_UNKNOWN), as the issue asks, so an
 * air-gapped operator is not blocked. OCSP is not asked (CRLs are what every CA publishes).
 *
 * The URL comes from a certificate an operator imports, so it is fetched under the destination
 * rules of outbound events (public addresses only unless REVOCATION_ALLOWED_DESTINATIONS lists
 * them, checked again at connect time), without redirects, with a deadline and a size cap.
 */
@Injectable()
export class ConnectPayRevocation {
  private readonly policy: DestinationPolicy;

  constructor(
    environment: Environment,
    private readonly resolver: DestinationResolver,
  ) {
    // CRLs are signed and served over plain http by design: no https requirement.
    this.policy = new DestinationPolicy({
      allowed: environment.REVOCATION_ALLOWED_DESTINATIONS,
      settingName: 'REVOCATION_ALLOWED_DESTINATIONS',
      requireHttps: false,
    });
  }

  /** The report with the leaf's revocation findings added (and `ok` recomputed). */
  async check(report: ChainReport, now = new Date()): Promise<ChainReport> {
    const [leaf, issuer] = report.parsed;
    if (!leaf || !issuer) return report;
    const finding = await this.leafFinding(leaf, issuer, now);
    if (!finding) return report;
    const findings = [...report.findings, finding];
    return { ...report, findings, ok: !findings.some((entry) => entry.severity === 'error') };
  }

  /** Never throws: a certificate or CRL this code cannot read is a warning, not a failed import. */
  private async leafFinding(leaf: X509Certificate, issuer: X509Certificate, now: Date): Promise<ChainFinding | null> {
    try {
      return await this.readLeafRevocation(leaf, issuer, now);
    } catch (error) {
      return unknown(`the leaf or its issuer could not be read for a revocation check (${describe(error)}).`);
    }
  }

  private async readLeafRevocation(
    leaf: X509Certificate,
    issuer: X509Certificate,
    now: Date,
  ): Promise<ChainFinding | null> {
    const urls = crlUrls(leaf);
    if (urls.length === 0)
      return unknown('the leaf names no CRL distribution point (http or https), so its revocation cannot be checked.');
    let body: Buffer;
    try {
      body = await this.fetch(urls[0]);
    } catch (error) {
      // A refusal names only its code: its reason would show which internal address the name resolved to.
      const why =
        error instanceof DestinationRefusedError
          ? `the address is not allowed (${error.refusal.code}; list the host in REVOCATION_ALLOWED_DESTINATIONS if it is yours)`
          : (systemCode(error) ?? describe(error));
      return unknown(`its CRL at ${urls[0]} could not be fetched: ${why}.`);
    }
    let crl: x509.X509Crl;
    try {
      crl = new x509.X509Crl(looksLikePem(body) ? body.toString('latin1') : body);
    } catch {
      return unknown(`${urls[0]} did not answer a CRL.`);
    }
    const issuerCertificate = new x509.X509Certificate(issuer.raw);
    if (!(await crl.verify({ publicKey: issuerCertificate.publicKey }).catch(() => false)))
      return unknown(`the CRL at ${urls[0]} is not signed by the leaf's issuer.`);
    if (crl.nextUpdate && crl.nextUpdate.getTime() < now.getTime())
      return unknown(`the CRL at ${urls[0]} is out of date (its next update was due ${crl.nextUpdate.toISOString()}).`);
    const revoked = crl.findRevoked(new x509.X509Certificate(leaf.raw));
    if (!revoked) return null;
    return {
      code: 'LEAF_REVOKED',
      severity: 'error',
      certificateIndex: 0,
      message: `The leaf certificate (serial ${leaf.serialNumber}) was revoked by its CA on ${revoked.revocationDate.toISOString()}: ConnectPay would refuse it. Have the CA issue a new one.`,
    };
  }

  private fetch(raw: string): Promise<Buffer> {
    const url = this.policy.parseUrl(raw).url;
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Buffer>((resolve, reject) => {
      const request = client.get(
        url,
        {
          lookup: pinnedLookup(this.policy, (name) => this.resolver.lookup(name)),
          timeout: FETCH_TIMEOUT_MS,
          headers: { Accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.5, */*;q=0.1' },
        },
        (response) => {
          if (response.statusCode !== 200) {
            clearTimeout(deadline);
            response.resume();
            return reject(new Error(`it answered HTTP ${response.statusCode ?? 0}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_CRL_BYTES) request.destroy(new Error(`it is larger than ${MAX_CRL_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on('end', () => {
            clearTimeout(deadline);
            resolve(Buffer.concat(chunks));
          });
          response.on('error', (error) => {
            clearTimeout(deadline);
            reject(error);
          });
        },
      );
      // A whole-answer deadline, not only an idle one: a server dripping a byte every few seconds is refused too.
      const deadline = setTimeout(
        () => request.destroy(new Error(`no complete answer within ${FETCH_TIMEOUT_MS / 1000} s`)),
        FETCH_TIMEOUT_MS,
      ).unref();
      request.on('timeout', () => request.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS / 1000} s`)));
      request.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
    });
  }
}

/** A socket error's code (ECONNREFUSED, ETIMEDOUT …) alone: Node's message names the address it resolved to. */
function systemCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `the connection failed (${code})` : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function unknown(what: string): ChainFinding {
  return {
    code: 'REVOCATION_UNKNOWN',
    severity: 'warning',
    certificateIndex: 0,
    message: `Revocation of the leaf was not checked: ${what}`,
  };
}

/** The http(s) URLs of the leaf's CRL distribution points, in order. */
function crlUrls(leaf: X509Certificate): string[] {
  const extension = new x509.X509Certificate(leaf.raw).getExtension(x509.CRLDistributionPointsExtension);
  return (extension?.distributionPoints ?? [])
    .flatMap((point) => point.distributionPoint?.fullName ?? [])
    .map((name) => name.uniformResourceIdentifier)
    .filter((uri): uri is string => typeof uri === 'string' && /^https?:\/\//i.test(uri));
}

function looksLikePem(body: Buffer): boolean {
  return body.subarray(0, 64).toString('latin1').includes('-----BEGIN');
}
