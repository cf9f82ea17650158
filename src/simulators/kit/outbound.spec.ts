import { Deliverer } from './outbound';

describe('Deliverer', () => {
  it('keeps the latest attempts only, so a long-lived simulator does not grow without end', async () => {
    const deliverer = new Deliverer(
      () => ({ retryDelaysMs: [], duplicate: false, reorderWindowMs: 0 }),
      Math.random,
      3,
    );
    for (let n = 1; n <= 20; n++) {
      deliverer.deliver(
        `http://receiver/${n}`,
        () => Promise.resolve({ status: 200, body: '' }),
        () => true,
      );
      while (deliverer.inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(deliverer.log.length).toBeGreaterThanOrEqual(3);
    expect(deliverer.log.length).toBeLessThanOrEqual(6);
    expect(deliverer.log.at(-1)?.url).toBe('http://receiver/20');
  });
});
