import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Environment } from '../../src/config/environment';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CredentialVault } from '../../src/credentials/credential-vault.service';
import { CredentialsService } from '../../src/credentials/credentials.service';
import { DemoSeed } from '../../src/demo/demo-seed';
import { ProviderRegistry } from '../../src/providers/provider.registry';
import { VerestroCallbackServer } from '../../src/providers/verestro/verestro-callbacks.server';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { randomUUID } from 'node:crypto';
import { brazilianAccount } from './beneficiaries';
import type { TestDatabase } from './database';
import { reportIfSlow } from './close-watch';
import { startTestSimulators } from './sim-client';
import type { TestApp } from './test-app';
import { bearer, startTestApp } from './test-app';

export interface ProviderWorld {
  sims: RunningSimulators;
  t: TestApp;
  /** Where the app listens (the simulators post notifications here). */
  baseUrl: string;
  registry: ProviderRegistry;
  vault: CredentialVault;
  credentials: CredentialsService;
  close(): Promise<void>;
}

/**
 * The product (real app, real database) wired to the simulators over real TLS, through
 * configuration only, with simulator credentials created by the same flow as the demo.
 */
export async function startProviderWorld(
  env: Record<string, string> = {},
  seed = 1,
  options: {
    seedCredentials?: boolean;
    connectPayAuthorization?: 'complete' | 'leave-to-operator';
    /** A database the test owns (read after close, dropped by the test); a new one is cloned otherwise. */
    database?: TestDatabase;
  } = {},
): Promise<ProviderWorld> {
  const sims = await startTestSimulators(seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'pbt-world-'));
  const caFile = path.join(dir, 'simulators-ca.pem');
  writeFileSync(caFile, sims.serverCaPem);
  const t = await startTestApp({
    ...(options.database ? { database: options.database } : {}),
    env: {
      D24_SIMULATOR_URL: sims.urls.d24,
      CONNECTPAY_SIMULATOR_MTLS_URL: sims.urls.connectpayMtls,
      CONNECTPAY_SIMULATOR_TLS_URL: sims.urls.connectpayOneWay,
      VERESTRO_SIMULATOR_URL: sims.urls.verestro,
      PROVIDER_CA_FILE: caFile,
      PROVIDER_RESPONSE_TIMEOUT_MS: '800',
      PROVIDER_CONNECT_TIMEOUT_MS: '1000',
      RECONCILE_INTERVAL_MS: '200',
      // The simulators' timelines last milliseconds; the per-payout fetch interval follows suit.
      WEBHOOK_FETCH_INTERVAL_MS: '50',
      VERESTRO_CALLBACK_PORT: '0',
      ...env,
    },
  });
  await t.app.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  t.app.get(Environment).PUBLIC_BASE_URL = baseUrl;
  const credentials = t.app.get(CredentialsService);
  const vault = t.app.get(CredentialVault);
  if (options.seedCredentials !== false) {
    await new DemoSeed(
      t.app,
      { urls: sims.urls, serverCaFile: caFile },
      baseUrl,
      t.app.get(VerestroCallbackServer).url,
    ).run({ connectPayAuthorization: options.connectPayAuthorization ?? 'leave-to-operator' });
  }
  return {
    sims,
    t,
    baseUrl,
    registry: t.app.get(ProviderRegistry),
    vault,
    credentials,
    close: async () => {
      await t.close();
      await reportIfSlow('stopping the simulators', () => sims.stop());
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST /v1/payouts: a BRL 10.00 D24 payout on the simulator, with a fresh Idempotency-Key. */
export function createD24Payout(world: ProviderWorld) {
  return world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', randomUUID()).send({
    provider: 'd24',
    environment: 'simulator',
    amount: '10.00',
    currency: 'BRL',
    beneficiary: brazilianAccount(),
  });
}
