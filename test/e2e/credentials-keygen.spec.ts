import type { AddressInfo } from 'node:net';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * RSA-4096 generation takes seconds of CPU. It runs on the thread pool, so requests keep being
 * served while four CSRs are generated at once. (The benchmark measures this precisely; here the
 * bound is loose enough to hold on a busy CI machine and tight enough to catch a blocked loop.)
 */
describe('key generation does not stall the event loop', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  async function healthLatencies(until: () => boolean, minimum: number): Promise<number[]> {
    const latencies: number[] = [];
    while (!until() || latencies.length < minimum) {
      const started = performance.now();
      const response = await fetch(`${base}/health`);
      await response.text();
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return latencies;
  }

  it('keeps /health fast while four 4096-bit CSRs are generated', async () => {
    const idle = await healthLatencies(() => true, 20);
    let done = false;
    const csrs = Promise.all(
      ['One', 'Two', 'Three', 'Four'].map((app) =>
        fetch(`${base}/v1/credentials/verestro/csr`, {
          method: 'POST',
          headers: { ...bearer(t.adminKey), 'Content-Type': 'application/json' },
          body: JSON.stringify({
            environment: 'sandbox',
            country: 'PL',
            state: 'Mazowieckie',
            locality: 'Warsaw',
            organization: 'Acme',
            companyName: 'Acme',
            applicationName: app,
            email: 'ops@acme.example',
            keyBits: 4096,
          }),
        }).then(async (response) => ({
          status: response.status,
          body: (await response.json()) as { credential: { keyAlgorithm: string } },
        })),
      ),
    ).finally(() => (done = true));
    const during = await healthLatencies(() => done, 5);
    const results = await csrs;

    expect(results.map((r) => [r.status, r.body.credential.keyAlgorithm])).toEqual(Array(4).fill([201, 'RSA-4096']));
    const worst = Math.max(...during);
    const idleWorst = Math.max(...idle);
    // A blocked event loop would show the full generation time (seconds) here.
    expect(worst).toBeLessThan(Math.max(150, idleWorst * 10));
    expect(during.length).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
