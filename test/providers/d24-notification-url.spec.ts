import { Logger } from '@nestjs/common';
import { Environment } from '../../src/config/environment';
import { DestinationResolver, type ResolvedAddress } from '../../src/events/destination-policy';
import { D24NotificationUrlCheck } from '../../src/providers/d24/d24.notification-url';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';

/** Names this test resolves (no DNS here): one public, one internal. */
class FixedResolver extends DestinationResolver {
  override lookup(hostName: string): Promise<ResolvedAddress[]> {
    const answers: Record<string, ResolvedAddress[]> = {
      'payments.example.com': [{ address: '93.184.215.14', family: 4 }],
      'payments.internal.example.com': [{ address: '10.20.0.7', family: 4 }],
    };
    const found = answers[hostName];
    return found ? Promise.resolve(found) : Promise.reject(new Error(`ENOTFOUND ${hostName}`));
  }
}

/**
 * A production start with D24 credentials in service refuses a PUBLIC_BASE_URL that D24 could not
 * post notifications to (seed: HTTPS on 443 from the internet); the vault is the real one, with
 * the simulator's D24 keys in service.
 */
describe('D24 notification URL at a production start', () => {
  let world: ProviderWorld;
  beforeAll(async () => {
    world = await startProviderWorld({}, 83);
  });
  afterAll(() => world.close());

  const startWith = (publicBaseUrl: string | undefined, nodeEnv: 'production' | 'development' = 'production') =>
    new D24NotificationUrlCheck(
      Object.assign(new Environment(), { NODE_ENV: nodeEnv, PUBLIC_BASE_URL: publicBaseUrl }),
      world.vault,
      new FixedResolver(),
    ).onApplicationBootstrap();

  it.each([
    [undefined, /PUBLIC_BASE_URL is not set/],
    ['http://payments.example.com', /is http, not https/],
    ['https://payments.example.com:8443', /port 8443; D24 posts to 443 only/],
    ['https://localhost', /host localhost is not a public name/],
    ['https://payments.internal', /host payments.internal is not a public name/],
    ['https://intranet', /host intranet is not a public name/],
    ['https://127.0.0.1', /could not reach PUBLIC_BASE_URL: .*loopback/],
    ['https://192.168.1.20', /could not reach PUBLIC_BASE_URL: .*private/],
  ])('refuses %s', async (publicBaseUrl, reason) => {
    await expect(startWith(publicBaseUrl)).rejects.toThrow(reason);
    await expect(startWith(publicBaseUrl)).rejects.toThrow(/D24 credentials are in service \(simulator\)/);
  });

  it('starts with a public https URL on 443, and outside production whatever it is', async () => {
    await expect(startWith('https://payments.example.com')).resolves.toBeUndefined();
    await expect(startWith('https://payments.example.com/base/')).resolves.toBeUndefined();
    await expect(startWith('http://127.0.0.1:3000', 'development')).resolves.toBeUndefined();
  });

  // Split-horizon DNS: inside the network a public name may resolve to a private address, or not at
  // all. What this host resolves proves nothing about what D24 resolves, so it warns and starts.
  it.each(['https://payments.internal.example.com', 'https://nowhere.example.com'])(
    'starts with a warning when only resolution from here says %s is unreachable',
    async (publicBaseUrl) => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        await expect(startWith(publicBaseUrl)).resolves.toBeUndefined();
        expect(warn).toHaveBeenCalledWith(
          { publicBaseUrl },
          expect.stringMatching(
            /D24 credentials are in service \(simulator\): D24 could not reach PUBLIC_BASE_URL if the internet resolves it as this host does/,
          ),
        );
      } finally {
        warn.mockRestore();
      }
    },
  );
});
