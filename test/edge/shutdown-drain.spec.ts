import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SHUTDOWN_DRAIN_MS } from '../../src/common/http/server-limits';
import { bearer, startTestApp } from '../support/test-app';

/**
 * A shutdown gives the requests in progress SHUTDOWN_DRAIN_MS, then cuts their connections: a
 * client that never finishes its request (an upload held open, a stalled proxy) cannot keep the
 * process from stopping. Node's own close waits for it with no bound.
 */
describe('shutdown with a request still being sent', () => {
  it('stops within the drain time, closing the held connection', async () => {
    const t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const body = JSON.stringify({ dryRun: true, items: [] });
    const held = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/payout-batches',
      headers: {
        ...bearer(t.adminKey),
        'Idempotency-Key': randomUUID(),
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
      },
    });
    const cut = new Promise<string>((resolve) => {
      held.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      held.on('response', (response) => resolve(`answered ${response.statusCode}`));
    });
    // Half the body, then nothing: the server is still reading this request when it shuts down.
    await new Promise<void>((resolve) => held.write(body.slice(0, 10), () => resolve()));

    const started = Date.now();
    await t.close();
    const took = Date.now() - started;
    expect(await cut).toBe('ECONNRESET');
    expect(took).toBeGreaterThanOrEqual(SHUTDOWN_DRAIN_MS - 200);
    expect(took).toBeLessThan(SHUTDOWN_DRAIN_MS + 10_000);
  }, 30_000);
});
