import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { BatchRunner } from '../../src/batches/batch-runner';
import type { LimitedExpressAdapter } from '../../src/common/http/server-limits';
import { SHUTDOWN_DRAIN_MS, SHUTDOWN_REQUESTS_MS } from '../../src/common/http/server-limits';
import { ShutdownSignal } from '../../src/common/shutdown/shutdown-signal';
import { OutboundEventsRepository } from '../../src/events/persistence/outbound-events.repository';
import { PayoutReconciler } from '../../src/payouts/payout-reconciler';
import { brazilianAccount } from '../support/beneficiaries';
import { createTestDatabase } from '../support/database';
import { type ProviderWorld, startProviderWorld } from '../support/provider-world';
import { admin, eventually } from '../support/sim-client';
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

/**
 * Cutting a connection does not stop the handler behind it. A payout whose provider answers after
 * the drain's cut still has that answer to record: the shutdown waits for it (up to
 * SHUTDOWN_REQUESTS_MS) before the modules and the database pool stop under it. Without the wait,
 * the pool was closed first and the payout was left `requested`, for the reconciler to ask about.
 */
describe('shutdown with a handler still waiting for its provider', () => {
  it('cuts the connection, then lets the handler record the answer before the pool closes', async () => {
    const database = await createTestDatabase();
    const providerLatencyMs = SHUTDOWN_DRAIN_MS + 1_000;
    let stillOpen: ProviderWorld | undefined;
    try {
      const world = await startProviderWorld({ PROVIDER_RESPONSE_TIMEOUT_MS: '10000' }, 7, { database });
      stillOpen = world;
      await admin(world.sims, 'PUT', '/d24/faults', {
        route: 'POST /v3/cashout',
        settings: { latencyMs: providerLatencyMs, times: 1 },
      });
      const { port } = world.t.app.getHttpServer().address() as AddressInfo;
      const body = JSON.stringify({
        provider: 'd24',
        environment: 'simulator',
        amount: '10.00',
        currency: 'BRL',
        beneficiary: brazilianAccount(),
        reference: 'shutdown-late-answer',
      });
      const held = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/payouts',
        headers: {
          ...bearer(world.t.adminKey),
          'Idempotency-Key': randomUUID(),
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
        },
      });
      const cut = new Promise<string>((resolve) => {
        held.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        held.on('response', (response) => resolve(`answered ${response.statusCode}`));
      });
      held.end(body);
      // The payout's first commit is made before the provider is called: then the handler waits.
      await eventually(
        async (): Promise<unknown[]> =>
          world.t.dataSource.query(`SELECT 1 FROM payouts WHERE reference = $1`, ['shutdown-late-answer']),
        (rows) => rows.length === 1,
      );

      const started = Date.now();
      stillOpen = undefined;
      await world.close(); // the app (as main.ts closes it), then the simulators
      const took = Date.now() - started;
      expect(await cut).toBe('ECONNRESET');
      // The drain cut the connection at SHUTDOWN_DRAIN_MS; the close went on once the answer was recorded.
      expect(took).toBeGreaterThanOrEqual(providerLatencyMs - 500);
      expect(took).toBeLessThan(SHUTDOWN_REQUESTS_MS + 5_000);
      expect(world.t.logs.lines.filter((line) => /requests still running/.test(line))).toEqual([]);

      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ status: string; provider_reference: string | null }>(
          `SELECT status, provider_reference FROM payouts WHERE reference = $1`,
          ['shutdown-late-answer'],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0].status).not.toBe('requested');
        expect(rows[0].provider_reference).toEqual(expect.any(String));
      } finally {
        await client.end();
      }
    } finally {
      try {
        await stillOpen?.close();
      } finally {
        await database.drop();
      }
    }
  }, 40_000);
});

/**
 * The background work stops taking new work when the shutdown begins, not when the modules are
 * destroyed 7.5 s later: the reconciler, the batch runner and the event dispatcher claim nothing
 * while the requests in progress finish.
 */
describe('background work at the start of a shutdown', () => {
  it('from its start, no reconciler round, batch pass or outbox claim starts', async () => {
    const t = await startTestApp({ env: { RECONCILE_INTERVAL_MS: '100' } });
    try {
      const rounds = jest.spyOn(t.app.get(PayoutReconciler), 'runOnce');
      const runner = t.app.get(BatchRunner);
      const passes = jest.spyOn(runner, 'pass');
      const claims = jest.spyOn(t.app.get(OutboundEventsRepository), 'claimDue');
      // Running before: every part has started at least once on its own.
      await eventually(
        async () => [rounds.mock.calls.length, passes.mock.calls.length, claims.mock.calls.length],
        (counts) => counts.every((count) => count > 0),
        5_000,
      );
      t.app.get(ShutdownSignal).begin();
      const before = [rounds.mock.calls.length, passes.mock.calls.length, claims.mock.calls.length];
      runner.wake();
      // Several intervals of each (reconciler 100 ms, batch poll 250 ms, dispatcher 100 ms).
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect([rounds.mock.calls.length, passes.mock.calls.length, claims.mock.calls.length]).toEqual(before);
    } finally {
      await t.close();
    }
  });

  it('is begun by closeGracefully before the HTTP drain', async () => {
    const t = await startTestApp();
    const begin = jest.spyOn(t.app.get(ShutdownSignal), 'begin');
    const drain = jest.spyOn(t.app.getHttpAdapter() as LimitedExpressAdapter, 'drain');
    await t.close(); // through closeGracefully, as main.ts stops
    expect(begin).toHaveBeenCalledTimes(1);
    expect(drain).toHaveBeenCalled();
    expect(begin.mock.invocationCallOrder[0]).toBeLessThan(drain.mock.invocationCallOrder[0]);
  });
});
