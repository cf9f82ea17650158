import { Injectable } from '@nestjs/common';
import { promises as dns } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import * as ipaddr from 'ipaddr.js';
import type { Environment } from '../config/environment';
import { withDeadline } from '../common/deadline';
import { Slots } from '../common/slots';

/**
 * Where outbound events may go. Events are HMAC-signed POSTs sent from inside our network, so a
 * subscription URL must never become a way to reach an internal address (loopback, the cloud
 * metadata service, another team's private service). The same rules run twice: when a URL is
 * subscribed (a clear 422), and on every connection (so a name that later resolves elsewhere,
 * DNS rebinding, still cannot reach an internal address).
 */

export type RefusalCode =
  | 'INVALID_URL'
  | 'SCHEME_NOT_ALLOWED'
  | 'HTTPS_REQUIRED'
  | 'USERINFO_NOT_ALLOWED'
  | 'HOST_NOT_RESOLVED'
  | 'LOOPBACK_ADDRESS'
  | 'LINK_LOCAL_ADDRESS'
  | 'UNSPECIFIED_ADDRESS'
  | 'MULTICAST_ADDRESS'
  | 'BROADCAST_ADDRESS'
  | 'RESERVED_ADDRESS'
  | 'PRIVATE_ADDRESS';

/** Why a destination is refused: `reason` is short (details, lastError), `hint` says what to do. Neither carries the URL. */
export interface Refusal {
  code: RefusalCode;
  reason: string;
  hint: string;
  /** The address a host name resolved to, for the service's own log only (never in reason or hint). */
  resolvedAddress?: string;
}

export class DestinationRefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(`destination not allowed: ${refusal.reason}`);
    this.name = 'DestinationRefusedError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** A subscription URL that passed the checks that need no DNS. */
export interface ParsedDestination {
  url: URL;
  /** The host without IPv6 brackets, as given to http.request(). */
  host: string;
  /** True when the host is an address: Node does not call `lookup` then, so it is checked here. */
  isAddress: boolean;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export interface AllowedDestinations {
  ranges: Cidr[];
  hostNames: Set<string>;
}

/** Ranges an operator may open with EVENTS_ALLOWED_DESTINATIONS (by range or by host name). */
const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'carrierGradeNat']);

const CATEGORY: Record<string, { code: RefusalCode; label: string }> = {
  loopback: { code: 'LOOPBACK_ADDRESS', label: 'a loopback address' },
  linkLocal: { code: 'LINK_LOCAL_ADDRESS', label: 'a link-local address (this includes the cloud metadata service)' },
  unspecified: { code: 'UNSPECIFIED_ADDRESS', label: 'an unspecified address' },
  multicast: { code: 'MULTICAST_ADDRESS', label: 'a multicast address' },
  broadcast: { code: 'BROADCAST_ADDRESS', label: 'the broadcast address' },
};

/**
 * IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291): ipaddr.js calls it unicast, but it
 * names an IPv4 host, so it is treated as reserved like the other IPv4-embedding ranges.
 */
const IPV4_COMPATIBLE: Cidr = ipaddr.IPv6.parseCIDR('::/96');

const HOST_NAME =
  /^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

function normaliseHostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** An IPv4-mapped IPv6 range is kept as the IPv4 range, since addresses are compared after ipaddr.process(). */
function unwrapCidr([address, bits]: Cidr): Cidr {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

/**
 * Parses an allow-list setting (EVENTS_ALLOWED_DESTINATIONS, REVOCATION_ALLOWED_DESTINATIONS):
 * comma-separated CIDR ranges, single addresses and host names. Returns the problems instead of
 * throwing, so configuration loading can list them with the other bad variables; each problem
 * names `settingName`, the variable the operator must fix.
 */
export function parseAllowedDestinations(
  setting: string | undefined,
  settingName = 'EVENTS_ALLOWED_DESTINATIONS',
): AllowedDestinations & { problems: string[] } {
  const ranges: Cidr[] = [];
  const hostNames = new Set<string>();
  const problems: string[] = [];
  for (const entry of (setting ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [text, bits, ...rest] = entry.split('/');
    if (entry.includes('/') || entry.includes(':') || /^[0-9.]+$/.test(entry) || /^0x/i.test(entry)) {
      // An address or a range: a typo here must not silently become a host name, and IPv4 must
      // be plain dotted decimal (ipaddr.js would read 10.0.0/8 or 012.1.1.1 some other way).
      const isV4 = !text.includes(':');
      const valid = isV4 ? ipaddr.IPv4.isValidFourPartDecimal(text) : ipaddr.IPv6.isValid(text);
      const prefixValid = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isV4 ? 32 : 128));
      if (!valid || !prefixValid || rest.length > 0) {
        problems.push(
          `${settingName} has "${entry}", which is not a valid ${bits === undefined ? 'IP address' : 'CIDR range'} (write e.g. 10.0.0.0/8, fd00::/8 or 10.1.2.3)`,
        );
        continue;
      }
      const address = ipaddr.parse(text);
      ranges.push(unwrapCidr([address, bits === undefined ? (isV4 ? 32 : 128) : Number(bits)]));
    } else if (HOST_NAME.test(entry)) {
      hostNames.add(normaliseHostName(entry));
    } else {
      problems.push(`${settingName} has "${entry}", which is neither a CIDR range, an address nor a host name`);
    }
  }
  return { ranges, hostNames, problems };
}

export class InvalidAllowedDestinationsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidAllowedDestinationsError';
  }
}

export interface DestinationPolicyOptions {
  /** The allow-list's value. */
  allowed?: string;
  /** The variable it came from, named in problems and hints (default EVENTS_ALLOWED_DESTINATIONS). */
  settingName?: string;
  /** Production: events carry payout data and a signature, so only over TLS. */
  requireHttps: boolean;
}

/** The rules, with no I/O: name resolution is passed in, so the table is easy to test. */
export class DestinationPolicy {
  private readonly allowed: AllowedDestinations;
  readonly requireHttps: boolean;
  private readonly settingName: string;

  constructor(options: DestinationPolicyOptions) {
    this.settingName = options.settingName ?? 'EVENTS_ALLOWED_DESTINATIONS';
    const { problems, ...allowed } = parseAllowedDestinations(options.allowed, this.settingName);
    if (problems.length > 0) throw new InvalidAllowedDestinationsError(problems);
    this.allowed = allowed;
    this.requireHttps = options.requireHttps;
  }

  static fromEnvironment(environment: Environment): DestinationPolicy {
    return new DestinationPolicy({
      allowed: environment.EVENTS_ALLOWED_DESTINATIONS,
      requireHttps: environment.isProduction,
    });
  }

  /**
   * The checks that need no DNS: a WHATWG URL (which also normalises 127.1, 0x7f000001 and
   * friends to 127.0.0.1), http or https (https only in production), no user:password@, and an
   * address host checked against the rules. Throws DestinationRefusedError.
   */
  parseUrl(raw: string): ParsedDestination {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refused('INVALID_URL', 'it is not a valid URL', 'Send an absolute http(s):// URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw refused(
        'SCHEME_NOT_ALLOWED',
        `the scheme ${url.protocol.replace(/:$/, '')} is not allowed`,
        'Use an https:// (or, outside production, http://) URL.',
      );
    }
    if (this.requireHttps && url.protocol !== 'https:') {
      throw refused('HTTPS_REQUIRED', 'events are sent only over HTTPS in production', 'Use an https:// URL.');
    }
    if (url.username !== '' || url.password !== '') {
      throw refused(
        'USERINFO_NOT_ALLOWED',
        'it carries a user name or password',
        'Remove the user:password@ part; receivers authenticate events by their X-Payments-Signature.',
      );
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw refused('INVALID_URL', 'it has no host', 'Send an absolute http(s):// URL with a host.');
    const isAddress = isIP(host) !== 0;
    if (isAddress) {
      const refusal = this.checkAddress(host);
      if (refusal) throw new DestinationRefusedError(refusal);
    }
    return { url, host, isAddress };
  }

  /**
   * One address: allowed when inside a listed range; otherwise public unicast is allowed,
   * private ranges only when reached through a listed host name, the rest never.
   * Returns the refusal, or null when allowed.
   */
  checkAddress(text: string, viaHostName?: string): Refusal | null {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process(): ::ffff:127.0.0.1 must be judged as 127.0.0.1.
      address = ipaddr.process(text);
    } catch {
      return {
        code: 'RESERVED_ADDRESS',
        reason: `${describeHost(viaHostName)}resolves to an unusable address`,
        hint: 'Use a host name with a public address.',
      };
    }
    if (
      this.allowed.ranges.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits))
    )
      return null;

    let range: string = address.range();
    if (address.kind() === 'ipv6' && range === 'unicast' && address.match(IPV4_COMPATIBLE)) range = 'reserved';
    if (range === 'unicast') return null;

    // A host name's answer is never echoed (nor its range): the refusal reaches the API caller and
    // the delivery log, and must not turn the subscription endpoint into a way to read internal
    // DNS. The resolved address goes to the service's own log only (Refusal.resolvedAddress).
    const shown = address.toString();
    const where = viaHostName ? `${viaHostName} resolves to` : `${shown} is`;
    if (PRIVATE_RANGES.has(range)) {
      if (viaHostName && this.allowed.hostNames.has(normaliseHostName(viaHostName))) return null;
      return {
        code: 'PRIVATE_ADDRESS',
        ...(viaHostName ? { resolvedAddress: shown } : {}),
        reason: `${where} a private address`,
        hint: viaHostName
          ? `Private addresses are reached only when the operator allows them: list the host name, or its address range, in ${this.settingName}.`
          : `Private addresses are reached only when the operator allows them: list the range (e.g. ${privateRangeOf(address) ?? shown}) or the host name in ${this.settingName}.`,
      };
    }
    const category = CATEGORY[range] ?? {
      code: 'RESERVED_ADDRESS' as const,
      label: 'a reserved or special-purpose address',
    };
    return {
      code: category.code,
      ...(viaHostName ? { resolvedAddress: shown } : {}),
      reason: `${where} ${category.label}`,
      hint: `Use the receiving service's routable address; loopback, link-local, unspecified, multicast and reserved addresses are reached only inside a range listed in ${this.settingName}.`,
    };
  }

  /** Every address a name resolves to must pass: one bad answer is enough to refuse. */
  checkResolved(hostName: string, addresses: ResolvedAddress[]): Refusal | null {
    if (addresses.length === 0) return notResolved(hostName);
    for (const { address } of addresses) {
      const refusal = this.checkAddress(address, hostName);
      if (refusal) return refusal;
    }
    return null;
  }

  /** The whole subscribe-time check. Throws DestinationRefusedError. */
  async check(raw: string, lookup: HostLookup): Promise<ParsedDestination> {
    const destination = this.parseUrl(raw);
    if (!destination.isAddress) {
      const addresses = await resolveHost(destination.host, lookup);
      const refusal = this.checkResolved(destination.host, addresses);
      if (refusal) throw new DestinationRefusedError(refusal);
    }
    return destination;
  }
}

export type HostLookup = (hostName: string) => Promise<ResolvedAddress[]>;

/** Host-name lookups (getaddrinfo) these checks run at once: half of libuv's four worker threads. */
const MAX_CONCURRENT_LOOKUPS = 2;
/** After this long a lookup counts as failed (the name does not resolve), whatever it answers later. */
const LOOKUP_DEADLINE_MS = 5_000;

/**
 * Name resolution for event destinations (and the other addresses we are handed: notification
 * URLs, the doctor's checks), as a provider so tests can map made-up names to addresses without
 * touching DNS. Used both when subscribing and when connecting.
 *
 * The system resolver (dns.lookup: /etc/hosts, search domains, as every other connection of ours
 * resolves), with two bounds. getaddrinfo runs on libuv's four worker threads without a deadline,
 * so a subscriber's name whose servers answer slowly would otherwise hold the threads provider
 * connections, file reads and crypto wait for: at most MAX_CONCURRENT_LOOKUPS run at once (a slot
 * is held until getaddrinfo returns, deadline or not), and a caller waits LOOKUP_DEADLINE_MS at most.
 */
@Injectable()
export class DestinationResolver {
  private readonly lookups = new Slots(MAX_CONCURRENT_LOOKUPS);

  lookup(hostName: string): Promise<ResolvedAddress[]> {
    // A slot is held until getaddrinfo returns, deadline or not: that is when its thread is free.
    return withDeadline(
      this.lookups.run(() => dns.lookup(hostName, { all: true })),
      LOOKUP_DEADLINE_MS,
      `looking up ${hostName} took over ${LOOKUP_DEADLINE_MS / 1000} s`,
    );
  }
}

/**
 * Resolves through `lookup`, except "localhost" and *.localhost, which are loopback by
 * definition (RFC 6761) and must never depend on what a resolver answers for them.
 * A failed resolution becomes a HOST_NOT_RESOLVED refusal.
 */
export async function resolveHost(hostName: string, lookup: HostLookup): Promise<ResolvedAddress[]> {
  const name = normaliseHostName(hostName);
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await lookup(hostName);
  } catch {
    throw new DestinationRefusedError(notResolved(hostName));
  }
  if (addresses.length === 0) throw new DestinationRefusedError(notResolved(hostName));
  return addresses;
}

function notResolved(hostName: string): Refusal {
  return {
    code: 'HOST_NOT_RESOLVED',
    reason: `${hostName} does not resolve`,
    hint: 'Check the host name; it must resolve from this service.',
  };
}

function refused(code: RefusalCode, reason: string, hint: string): DestinationRefusedError {
  return new DestinationRefusedError({ code, reason, hint });
}

function describeHost(hostName: string | undefined): string {
  return hostName ? `${hostName} ` : '';
}

const NAMED_PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

function privateRangeOf(address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  return NAMED_PRIVATE_RANGES.find((cidr) => {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    return network.kind() === address.kind() && address.match(network, bits);
  });
}

/**
 * A socket `lookup` that resolves through `lookup` and fails the connection when any answer is
 * forbidden by `policy`: a name rebound to an internal address between the check and the
 * connection still cannot reach it.
 */
export function pinnedLookup(policy: DestinationPolicy, lookup: HostLookup): LookupFunction {
  return (hostName, options, callback) => {
    resolveHost(hostName, lookup).then(
      (addresses) => {
        const refusal = policy.checkResolved(hostName, addresses);
        if (refusal) return callback(new DestinationRefusedError(refusal), '', 0);
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const wanted: LookupAddress[] = family ? addresses.filter((a) => a.family === family) : addresses;
        if (wanted.length === 0)
          return callback(
            Object.assign(new Error(`${hostName} has no IPv${family} address`), { code: 'ENOTFOUND' }),
            '',
            0,
          );
        if (options.all) return callback(null, wanted);
        callback(null, wanted[0].address, wanted[0].family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}
