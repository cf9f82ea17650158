import { createHook } from 'node:async_hooks';
import type { AddressInfo } from 'node:net';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * RSA-4096 generation takes seconds of CPU. It must run on libuv's thread pool, so requests keep
 * being served while four CSRs are generated at once. The test proves that without a clock (a
 * latency bound is a flake on a shared CI machine; the benchmark measures latency): async hooks see
 * each key generation as a thread-pool job (`KEYPAIRGENREQUEST`) and know when its callback ran, so
 * we can count /health answers delivered while a generation was still being computed. A generation
 * done on the event loop would create no such job, and no answer could be delivered during it.
 */
describe('key generation does not stall the event loop', () => {
  let t: TestApp;
  let base: string;
  const generationsInFlight = new Set<number>();
  let generationsStarted = 0;
  const keyGenerationJobs = createHook({
    init(asyncId, type) {
      if (type !== 'KEYPAIRGENREQUEST') return;
      generationsStarted++;
      generationsInFlight.add(asyncId);
    },
    // The job's completion callback runs between before and after; from then on it is done.
    before(asyncId) {
      generationsInFlight.delete(asyncId);
    },
  });

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    keyGenerationJobs.enable();
  });
  afterAll(async () => {
    keyGenerationJobs.disable();
    await t.close();
  });

  it('answers /health while four 4096-bit CSRs are being generated on the thread pool', async () => {
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

    let answersDuringGeneration = 0;
    while (!done) {
      const response = await fetch(`${base}/health`);
      await response.text();
      expect(response.status).toBe(200);
      if (generationsInFlight.size > 0) answersDuringGeneration++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await csrs;

    expect(results.map((r) => [r.status, r.body.credential.keyAlgorithm])).toEqual(Array(4).fill([201, 'RSA-4096']));
    expect(generationsStarted).toBeGreaterThanOrEqual(4);
    // Every job completed through a callback: a synchronous generation also creates the job
    // resource but never calls back, so it would stay "in flight" here.
    expect(generationsInFlight.size).toBe(0);
    expect(answersDuringGeneration).toBeGreaterThan(0);
  }, 120_000);
});
