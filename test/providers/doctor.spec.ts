import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Environment } from '../../src/config/environment';
import { projectRoot } from '../../src/config/paths';
import { DestinationResolver } from '../../src/events/destination-policy';
import { EKU, selfSigned } from '../support/pki';
import { admin } from '../support/sim-client';
import { bearer } from '../support/test-app';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  message: string;
  fix: string | null;
}
interface Report {
  provider: string;
  environment: string;
  ok: boolean;
  checks: Check[];
}

/**
 * The provider doctor against the simulators over real TLS: healthy, then each failure the
 * simulators can be switched into (or the configuration made to show), with the cause named.
 * NETWORK RULE: loopback only; names resolve through a fake resolver.
 */
describe('provider doctor against the simulators', () => {
  let world: ProviderWorld;
  let d24Keys: { apiKey: string; apiPassphrase: string; apiSignature: string; readOnlyKey?: string };

  beforeAll(async () => {
    world = await startProviderWorld({}, 1, { connectPayAuthorization: 'complete' });
    jest
      .spyOn(world.t.app.get(DestinationResolver), 'lookup')
      .mockImplementation((name: string) =>
        Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })),
      );
    const stored = await world.vault.activeMaterial('d24', 'simulator', 'api_keys');
    d24Keys = stored!.secret;
  });
  afterAll(() => world.close());

  const doctor = async (provider: string, environment: string): Promise<Report> => {
    const response = await world.t.http
      .post(`/v1/providers/${provider}/environments/${environment}/doctor`)
      .set(bearer(world.t.adminKey));
    expect(response.status).toBe(200);
    return response.body as Report;
  };
  /** D24_STG_URL as if configured at start (ProviderEndpoints reads the Environment on every call). */
  const configureStg = (url: string) => Object.assign(world.t.app.get<Environment>(Environment), { D24_STG_URL: url });
  const check = (report: Report, name: string): Check => {
    const found = report.checks.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no ${name} check in ${JSON.stringify(report.checks.map((c) => c.name))}`);
    return found;
  };
  const storeD24Keys = (keys: Partial<typeof d24Keys>) =>
    world.t.http
      .post('/v1/credentials/d24/keys')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', ...d24Keys, ...keys })
      .expect(201);

  it.each(['d24', 'connectpay', 'verestro'])(
    '%s simulator: every check passes (the notification URL only warns off production)',
    async (provider) => {
      const report = await doctor(provider, 'simulator');
      expect(report).toMatchObject({ provider, environment: 'simulator', ok: true });
      for (const entry of report.checks) {
        if (entry.name === 'notification_url') expect(entry.status).toBe('warn');
        else expect([entry.name, entry.status]).toEqual([entry.name, 'pass']);
      }
      const names = report.checks.map((entry) => entry.name);
      expect(names).toEqual(expect.arrayContaining(['authentication', 'clock']));
      expect(names.some((name) => name.startsWith('tls:'))).toBe(true);
      expect(names.some((name) => name.startsWith('credential:'))).toBe(true);
      if (provider === 'connectpay') expect(check(report, 'host_separation').status).toBe('pass');
      if (provider !== 'd24')
        expect(check(report, 'tls:mtls').message).toMatch(
          /Our client certificate \(credential [0-9a-f-]{36}\) was accepted\./,
        );
    },
  );

  it('D24 signature wrong (302): names the secret key', async () => {
    await storeD24Keys({ apiSignature: 'not-the-secret-d24-issued-000000' });
    try {
      const auth = check(await doctor('d24', 'simulator'), 'authentication');
      expect(auth).toMatchObject({ status: 'fail', message: expect.stringContaining('signature (302') });
      expect(auth.fix).toMatch(/secret key/);
      expect(JSON.stringify(auth)).not.toContain('not-the-secret');
    } finally {
      await storeD24Keys({});
    }
  });

  it('D24 keys wrong (401): names the API Key and Passphrase', async () => {
    await storeD24Keys({ apiKey: 'unknown-api-key' });
    try {
      const report = await doctor('d24', 'simulator');
      expect(report.ok).toBe(false);
      const auth = check(report, 'authentication');
      expect(auth).toMatchObject({ status: 'fail', message: expect.stringContaining('credentials (401') });
      expect(auth.fix).toMatch(/API Key and Passphrase/);
    } finally {
      await storeD24Keys({});
    }
  });

  it('D24 source address not allow-listed (402): names the allow-list and the address we left from', async () => {
    const before = (await admin<{ allowedIps: string[] }>(world.sims, 'PATCH', '/d24/settings', {})).body.allowedIps;
    await admin(world.sims, 'PATCH', '/d24/settings', { allowedIps: ['203.0.113.7'] });
    try {
      const auth = check(await doctor('d24', 'simulator'), 'authentication');
      expect(auth).toMatchObject({
        status: 'fail',
        message: expect.stringContaining('source IP not whitelisted (402'),
      });
      expect(auth.message).toContain('Our connection left from 127.0.0.1');
      expect(auth.fix).toMatch(/allow-list/);
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { allowedIps: before });
    }
    expect(check(await doctor('d24', 'simulator'), 'authentication').status).toBe('pass');
  });

  it.each([
    [120, 'warn', /Our clock is 1(19|2\d) s behind D24's/],
    [-900, 'fail', /Our clock is (899|90\d) s ahead of D24's/],
  ])('D24 clock off by %i s: %s', async (offsetSeconds, status, message) => {
    await admin(world.sims, 'PUT', '/d24/clock', { offsetSeconds });
    try {
      const clock = check(await doctor('d24', 'simulator'), 'clock');
      expect(clock.status).toBe(status);
      expect(clock.message).toMatch(message);
      expect(clock.fix).toMatch(/NTP/);
    } finally {
      await admin(world.sims, 'PUT', '/d24/clock', { offsetSeconds: 0 });
    }
  });

  it('a host name that does not resolve: DNS fails, TLS and authentication are not tried', async () => {
    configureStg('https://d24-stg.invalid');
    const report = await doctor('d24', 'stg');
    expect(report.ok).toBe(false);
    expect(check(report, 'host:tls')).toMatchObject({
      status: 'pass',
      message: 'Configured: https://d24-stg.invalid.',
    });
    expect(check(report, 'dns:tls')).toMatchObject({
      status: 'fail',
      message: 'd24-stg.invalid does not resolve from this host (ENOTFOUND).',
    });
    expect(check(report, 'tls:tls').status).toBe('skip');
    expect(check(report, 'authentication').status).toBe('skip');
    expect(check(report, 'credentials')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('/v1/credentials/d24'),
    });
  });

  it('a server certificate not trusted here: TLS fails naming the trust store', async () => {
    // A TLS server of our own on loopback, with a certificate no CA we trust has signed.
    const self = await selfSigned({
      subject: 'CN=impostor.example',
      altNames: ['127.0.0.1'],
      extendedKeyUsages: [EKU.serverAuth],
    });
    const impostor = createServer({ cert: self.pem, key: self.privateKeyPem }, (_request, response) => response.end());
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    configureStg(`https://127.0.0.1:${(impostor.address() as AddressInfo).port}`);
    try {
      const report = await doctor('d24', 'stg');
      const tls = check(report, 'tls:tls');
      expect(tls.status).toBe('fail');
      expect(tls.message).toMatch(/server certificate is not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      expect(tls.fix).toMatch(/PROVIDER_CA_FILE/);
      expect(check(report, 'authentication').status).toBe('skip');
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('Verestro Basic authorization refused: names it', async () => {
    const stored = await world.vault.activeMaterial('verestro', 'simulator', 'api_client');
    const good = stored!.secret;
    const store = (clientSecret: string) =>
      world.t.http
        .post('/v1/credentials/verestro/basic-auth')
        .set(bearer(world.t.adminKey))
        .send({ environment: 'simulator', username: good.clientKey, password: clientSecret });
    const wrong = await store('wrong-secret-0000000000');
    expect(wrong.status).toBe(201);
    try {
      const auth = check(await doctor('verestro', 'simulator'), 'authentication');
      expect(auth.status).toBe('fail');
      expect(auth.message).toMatch(/Basic authorization/);
    } finally {
      expect((await store(good.clientSecret)).status).toBe(201);
    }
  });

  it('ConnectPay accounts refused over mTLS: authentication fails and host separation is not judged without a token', async () => {
    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/accounts',
      settings: { errorRate: 1 },
    });
    try {
      const report = await doctor('connectpay', 'simulator');
      expect(report.ok).toBe(false);
      const auth = check(report, 'authentication');
      expect([auth.status, auth.fix]).toEqual(['fail', expect.stringMatching(/DevApp client/)]);
      expect(check(report, 'host_separation')).toMatchObject({
        status: 'skip',
        message: expect.stringMatching(/without an access token/),
      });
    } finally {
      await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');
      await new Promise((resolve) => setTimeout(resolve, 250)); // let an opened circuit half-open again
    }
  });

  it('ConnectPay one-way host serving person data to our token: host separation fails naming the URL variables', async () => {
    await admin(world.sims, 'PATCH', '/connectpay/settings', { oneWayServesPersonData: true });
    try {
      const report = await doctor('connectpay', 'simulator');
      expect(check(report, 'authentication').status).toBe('pass');
      expect(check(report, 'host_separation')).toMatchObject({
        status: 'fail',
        message: expect.stringMatching(/one-way TLS host answered the accounts list \(HTTP 200\)/),
        fix: expect.stringMatching(/_TLS_URL and _MTLS_URL/),
      });
    } finally {
      await admin(world.sims, 'PATCH', '/connectpay/settings', { oneWayServesPersonData: false });
    }
    expect(check(await doctor('connectpay', 'simulator'), 'host_separation').status).toBe('pass');
  });

  it('PUBLIC_BASE_URL that does not lead to this service: notification_reachable warns with the cause', async () => {
    const environment = world.t.app.get<Environment>(Environment);
    const configured = environment.PUBLIC_BASE_URL;
    // A listener that hangs up on every connection: a host that is there but is not this service.
    const hangUp = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
    const port = (hangUp.address() as AddressInfo).port;
    try {
      environment.PUBLIC_BASE_URL = `http://127.0.0.1:${port}`;
      expect(check(await doctor('d24', 'simulator'), 'notification_reachable')).toMatchObject({
        status: 'warn',
        message: expect.stringMatching(
          new RegExp(`^http://127\\.0\\.0\\.1:${port} could not be reached from here \\(.+\\)\\.$`),
        ),
        fix: expect.stringMatching(/route to this service/),
      });
    } finally {
      environment.PUBLIC_BASE_URL = configured;
      await new Promise((resolve) => hangUp.close(resolve));
    }
    expect(check(await doctor('d24', 'simulator'), 'notification_reachable')).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/answers GET \/health as this service does, from here/),
    });
  });

  it('npm run doctor: prints each check and exits 0 when none failed, 1 when one did', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'doctor-cli-'));
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, world.t.adminKey, { mode: 0o600 });
    const cli = (environment: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [
            path.join(projectRoot(), 'dist/scripts/doctor.js'),
            'd24',
            environment,
            '--url',
            world.baseUrl,
            '--key-file',
            keyFile,
          ],
          (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
        );
      });
    try {
      const healthy = await cli('simulator');
      expect(healthy.code).toBe(0);
      expect(healthy.stdout).toMatch(/^d24 simulator\n/);
      expect(healthy.stdout).toContain('  ok    authentication: D24 accepted our source address');
      expect(healthy.stdout).toContain(
        '  WARN  notification_url: PUBLIC_BASE_URL is http, not https.\n        fix: Set PUBLIC_BASE_URL',
      );
      expect(healthy.stdout).not.toContain(world.t.adminKey);
      configureStg('https://127.0.0.1:9');
      const broken = await cli('stg');
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain('  FAIL  tls:tls: the TLS connection to 127.0.0.1:9 was refused');
      expect(broken.stdout).toMatch(/A check failed: fix it before the first real payout\.\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an environment the provider does not have (400), and a key without credentials:admin', async () => {
    const wrong = await world.t.http
      .post('/v1/providers/d24/environments/sandbox/doctor')
      .set(bearer(world.t.adminKey));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual([
      { field: 'environment', code: 'UNKNOWN_ENVIRONMENT', message: 'must be one of stg, prod, simulator for d24' },
    ]);
    const reader = (
      await world.t.http
        .post('/v1/api-keys')
        .set(bearer(world.t.adminKey))
        .send({ name: 'r', scopes: ['payouts:read'] })
    ).body.key as string;
    const forbidden = await world.t.http.post('/v1/providers/d24/environments/simulator/doctor').set(bearer(reader));
    expect(forbidden.status).toBe(403);
  });

  // Last: it moves a credential's end date (restored after, status included).
  it.each([
    ['3 days', 'warn', /expires in [23] days/, /Rotate it/],
    ['-1 day', 'fail', /expired on/, /Rotate it/],
  ])('a credential ending in %s: credential check %s, naming when to rotate', async (shift, status, message, fix) => {
    const setEnd = (end: string) =>
      world.t.dataSource.query(
        `UPDATE credentials SET not_after = ${end}, status = 'active'
          WHERE provider = 'd24' AND environment = 'simulator' AND kind = 'api_keys' AND status IN ('active', 'expiring', 'expired')`,
      );
    await setEnd(`now() + interval '${shift}'`);
    try {
      const report = await doctor('d24', 'simulator');
      expect(check(report, 'credential:api_keys')).toMatchObject({
        status,
        message: expect.stringMatching(message),
        fix: expect.stringMatching(fix),
      });
      expect(report.ok).toBe(status !== 'fail');
    } finally {
      await setEnd('NULL');
    }
  });
});
