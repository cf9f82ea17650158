import { ConfigurationError, loadEnvironment } from '../../src/config/environment';
import type { RefusalCode, ResolvedAddress } from '../../src/events/destination-policy';
import {
  DestinationPolicy,
  DestinationRefusedError,
  InvalidAllowedDestinationsError,
} from '../../src/events/destination-policy';

/** No real DNS here: names resolve through this table, anything else does not resolve. */
function fakeLookup(table: Record<string, string[]>) {
  return (name: string): Promise<ResolvedAddress[]> => {
    const addresses = table[name];
    if (!addresses)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
}

async function refusalOf(
  policy: DestinationPolicy,
  url: string,
  table: Record<string, string[]> = {},
): Promise<RefusalCode | null> {
  try {
    await policy.check(url, fakeLookup(table));
    return null;
  } catch (error) {
    if (error instanceof DestinationRefusedError) return error.refusal.code;
    throw error;
  }
}

describe('destination policy', () => {
  const strict = new DestinationPolicy({ requireHttps: false });

  describe('addresses, with nothing allowed by the operator', () => {
    it.each<[string, RefusalCode | null]>([
      ['8.8.8.8', null],
      ['1.1.1.1', null],
      ['2606:4700:4700::1111', null],
      ['127.0.0.1', 'LOOPBACK_ADDRESS'],
      ['127.255.255.254', 'LOOPBACK_ADDRESS'],
      ['::1', 'LOOPBACK_ADDRESS'],
      ['::ffff:127.0.0.1', 'LOOPBACK_ADDRESS'],
      ['::ffff:7f00:1', 'LOOPBACK_ADDRESS'],
      ['169.254.169.254', 'LINK_LOCAL_ADDRESS'],
      ['::ffff:169.254.169.254', 'LINK_LOCAL_ADDRESS'],
      ['fe80::1', 'LINK_LOCAL_ADDRESS'],
      ['0.0.0.0', 'UNSPECIFIED_ADDRESS'],
      ['0.1.2.3', 'UNSPECIFIED_ADDRESS'],
      ['::', 'UNSPECIFIED_ADDRESS'],
      ['224.0.0.1', 'MULTICAST_ADDRESS'],
      ['239.255.255.250', 'MULTICAST_ADDRESS'],
      ['ff02::1', 'MULTICAST_ADDRESS'],
      ['255.255.255.255', 'BROADCAST_ADDRESS'],
      ['240.0.0.1', 'RESERVED_ADDRESS'],
      ['192.0.2.1', 'RESERVED_ADDRESS'],
      ['198.18.0.1', 'RESERVED_ADDRESS'],
      ['2001:db8::1', 'RESERVED_ADDRESS'],
      ['64:ff9b::7f00:1', 'RESERVED_ADDRESS'], // NAT64 of 127.0.0.1
      ['2002:7f00:1::', 'RESERVED_ADDRESS'], // 6to4 of 127.0.0.1
      ['::7f00:1', 'RESERVED_ADDRESS'], // IPv4-compatible 127.0.0.1
      ['10.0.0.1', 'PRIVATE_ADDRESS'],
      ['172.16.5.4', 'PRIVATE_ADDRESS'],
      ['172.31.255.255', 'PRIVATE_ADDRESS'],
      ['192.168.1.1', 'PRIVATE_ADDRESS'],
      ['100.64.0.1', 'PRIVATE_ADDRESS'],
      ['fd12:3456::1', 'PRIVATE_ADDRESS'],
      ['::ffff:10.0.0.1', 'PRIVATE_ADDRESS'],
      ['172.32.0.1', null],
    ])('%s → %s', (address, expected) => {
      expect(strict.checkAddress(address)?.code ?? null).toBe(expected);
    });
  });

  describe('URLs', () => {
    it.each<[string, RefusalCode | null]>([
      ['http://127.0.0.1/events', 'LOOPBACK_ADDRESS'],
      ['http://[::1]:8080/events', 'LOOPBACK_ADDRESS'],
      ['http://localhost/events', 'LOOPBACK_ADDRESS'],
      ['http://LOCALHOST./events', 'LOOPBACK_ADDRESS'],
      ['http://api.localhost/events', 'LOOPBACK_ADDRESS'],
      ['http://127.1/events', 'LOOPBACK_ADDRESS'],
      ['http://0x7f000001/events', 'LOOPBACK_ADDRESS'],
      ['http://2130706433/events', 'LOOPBACK_ADDRESS'],
      ['http://0177.0.0.1/events', 'LOOPBACK_ADDRESS'],
      ['http://[::ffff:127.0.0.1]/events', 'LOOPBACK_ADDRESS'],
      ['http://169.254.169.254/latest/meta-data', 'LINK_LOCAL_ADDRESS'],
      ['http://10.0.0.1/events', 'PRIVATE_ADDRESS'],
      ['http://0.0.0.0:3000/', 'UNSPECIFIED_ADDRESS'],
      ['http://224.0.0.1/', 'MULTICAST_ADDRESS'],
      ['http://user:pass@public.example/events', 'USERINFO_NOT_ALLOWED'],
      ['http://user@public.example/events', 'USERINFO_NOT_ALLOWED'],
      ['ftp://public.example/events', 'SCHEME_NOT_ALLOWED'],
      ['file:///etc/passwd', 'SCHEME_NOT_ALLOWED'],
      ['not a url', 'INVALID_URL'],
      ['http://nowhere.example/events', 'HOST_NOT_RESOLVED'],
      ['http://public.example/events', null],
      ['https://public.example:8443/events?x=1', null],
      ['http://8.8.8.8:1/', null],
      ['http://mixed.example/', 'PRIVATE_ADDRESS'],
      ['http://rebound.example/', 'LOOPBACK_ADDRESS'],
      ['http://metadata.example/', 'LINK_LOCAL_ADDRESS'],
    ])('%s → %s', async (url, expected) => {
      const table = {
        'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
        'mixed.example': ['93.184.215.14', '10.1.2.3'], // one bad answer is enough
        'rebound.example': ['::ffff:127.0.0.1'],
        'metadata.example': ['169.254.169.254'],
      };
      expect(await refusalOf(strict, url, table)).toBe(expected);
    });

    it('requires https in production', async () => {
      const production = loadEnvironment({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/x',
        CREDENTIALS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      });
      const policy = DestinationPolicy.fromEnvironment(production);
      const table = { 'public.example': ['93.184.215.14'] };
      expect(await refusalOf(policy, 'http://public.example/events', table)).toBe('HTTPS_REQUIRED');
      expect(await refusalOf(policy, 'https://public.example/events', table)).toBeNull();
      expect(
        await refusalOf(
          DestinationPolicy.fromEnvironment(loadEnvironment({ NODE_ENV: 'test' })),
          'http://public.example/events',
          table,
        ),
      ).toBeNull();
    });

    it('never puts the password or the path in the refusal', async () => {
      try {
        await strict.check('http://alice:hunter2@127.0.0.1/secret-path?token=abc', fakeLookup({}));
        throw new Error('not refused');
      } catch (error) {
        const text = JSON.stringify((error as DestinationRefusedError).refusal) + String(error);
        expect(text).not.toMatch(/hunter2|secret-path|token=abc/);
      }
    });
  });

  describe('EVENTS_ALLOWED_DESTINATIONS', () => {
    it('a listed range allows any address inside it, whatever its range', async () => {
      const policy = new DestinationPolicy({
        allowed: '127.0.0.0/8, ::1/128,10.1.0.0/16,169.254.169.254',
        requireHttps: false,
      });
      expect(await refusalOf(policy, 'http://127.0.0.1:9/x')).toBeNull();
      expect(await refusalOf(policy, 'http://127.1/x')).toBeNull();
      expect(await refusalOf(policy, 'http://[::1]/x')).toBeNull();
      expect(await refusalOf(policy, 'http://[::ffff:127.0.0.1]/x')).toBeNull();
      expect(await refusalOf(policy, 'http://localhost/x')).toBeNull();
      expect(await refusalOf(policy, 'http://10.1.2.3/x')).toBeNull();
      expect(await refusalOf(policy, 'http://10.2.0.1/x')).toBe('PRIVATE_ADDRESS');
      expect(await refusalOf(policy, 'http://169.254.169.254/x')).toBeNull(); // listed as a single address
      expect(await refusalOf(policy, 'http://169.254.169.253/x')).toBe('LINK_LOCAL_ADDRESS');
    });

    it('an IPv4-mapped range counts as the IPv4 range', () => {
      const policy = new DestinationPolicy({ allowed: '::ffff:10.0.0.0/104', requireHttps: false });
      expect(policy.checkAddress('10.9.9.9')).toBeNull();
      expect(policy.checkAddress('::ffff:10.9.9.9')).toBeNull();
      expect(policy.checkAddress('11.0.0.1')).toBeNull(); // public anyway
      expect(policy.checkAddress('192.168.0.1')?.code).toBe('PRIVATE_ADDRESS');
    });

    it('a listed host name may resolve to private addresses, never to loopback, link-local, unspecified or multicast', async () => {
      const policy = new DestinationPolicy({ allowed: 'events.internal', requireHttps: false });
      const table = {
        'events.internal': ['10.20.30.40', 'fd00::40'],
        'other.internal': ['10.20.30.41'],
      };
      expect(await refusalOf(policy, 'http://events.internal/x', table)).toBeNull();
      expect(
        await refusalOf(policy, 'http://EVENTS.internal./x', {
          ...table,
          'events.internal.': table['events.internal'],
        }),
      ).toBeNull();
      expect(await refusalOf(policy, 'http://other.internal/x', table)).toBe('PRIVATE_ADDRESS');
      expect(await refusalOf(policy, 'http://10.20.30.40/x', table)).toBe('PRIVATE_ADDRESS'); // the name is allowed, not its address
      for (const [address, code] of [
        ['127.0.0.1', 'LOOPBACK_ADDRESS'],
        ['169.254.169.254', 'LINK_LOCAL_ADDRESS'],
        ['0.0.0.0', 'UNSPECIFIED_ADDRESS'],
        ['224.0.0.1', 'MULTICAST_ADDRESS'],
      ]) {
        expect(
          await refusalOf(policy, 'http://events.internal/x', { 'events.internal': ['10.20.30.40', address] }),
        ).toBe(code);
      }
    });

    it('the refusal of a private address says how to allow it', () => {
      const refusal = strict.checkAddress('10.0.0.1', 'ledger.internal');
      // The address it resolved to is not echoed to the caller (internal DNS stays internal), only logged.
      expect(refusal?.reason).toBe('ledger.internal resolves to a private address');
      expect(refusal?.hint).not.toContain('10.');
      expect(refusal?.resolvedAddress).toBe('10.0.0.1');
      expect(refusal?.hint).toContain('EVENTS_ALLOWED_DESTINATIONS');
      // An address the caller gave itself is named, with the range to list.
      const literal = strict.checkAddress('10.0.0.1');
      expect(literal?.reason).toBe('10.0.0.1 is a private address');
      expect(literal?.hint).toContain('10.0.0.0/8');
      expect(literal?.resolvedAddress).toBeUndefined();
    });

    it.each([
      '10.0.0.0/33',
      '10.0.0/8',
      '127.1',
      '012.0.0.1/8',
      'fd00::/129',
      '10.0.0.300',
      'bad host!',
      '1.2.3.4/x',
      '1.2.3.4/8/8',
      '::g',
    ])('refuses "%s" at construction and at boot', (setting) => {
      expect(() => new DestinationPolicy({ allowed: setting, requireHttps: false })).toThrow(
        InvalidAllowedDestinationsError,
      );
      let problems: string[] = [];
      try {
        loadEnvironment({ EVENTS_ALLOWED_DESTINATIONS: setting });
      } catch (error) {
        if (error instanceof ConfigurationError) problems = error.problems;
        else throw error;
      }
      expect(problems.join('\n')).toContain('EVENTS_ALLOWED_DESTINATIONS');
    });

    it('accepts ranges, addresses and names, with spaces and empty entries', () => {
      expect(
        () =>
          new DestinationPolicy({
            allowed: '10.0.0.0/8, fd00::/8 ,,192.168.1.10,events.internal,ledger-1.svc.cluster.local',
            requireHttps: false,
          }),
      ).not.toThrow();
      expect(() => loadEnvironment({ EVENTS_ALLOWED_DESTINATIONS: '10.0.0.0/8,events.internal' })).not.toThrow();
    });
  });
});
