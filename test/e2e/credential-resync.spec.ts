import type { ProviderWorld } from '../support/provider-world';
import { createD24Payout, startProviderWorld } from '../support/provider-world';
import { eventually } from '../support/sim-client';

/**
 * A replica hears other replicas' credential changes over LISTEN. When that connection is lost,
 * what is committed until it is back is never heard: the replica must read the vault again once
 * it is, or a credential revoked meanwhile stays usable in its caches for as long as it runs.
 */
describe('credential changes missed while the change listener was away', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    world = await startProviderWorld({}, 73);
  });
  afterAll(() => world.close());

  it('a credential revoked while the listener was disconnected is refused once it reconnects', async () => {
    // The D24 keys are read and cached by a first payout.
    expect((await createD24Payout(world)).status).toBe(201);
    const listener = `SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity
       WHERE application_name = 'payments-backend:credential-changes' AND datname = current_database()`;
    const [{ gone }] = await world.t.dataSource.query<Array<{ gone: boolean }>>(listener);
    expect(gone).toBe(true);
    // Another replica's revocation, committed while nobody here listens (no notification reaches us).
    await world.t.dataSource.query(
      `UPDATE credentials SET status = 'revoked', revoked_at = now()
        WHERE provider = 'd24' AND environment = 'simulator' AND kind = 'api_keys' AND status IN ('active', 'expiring')`,
    );
    const refused = await eventually(
      () => createD24Payout(world),
      (answer) => answer.status >= 400,
      10_000,
    );
    expect(refused.body.error.code).toBe('CREDENTIAL_REVOKED');
    expect(world.t.logs.text).toMatch(/credential change listener reconnected; cached credentials are read again/);
  });
});
