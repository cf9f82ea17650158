import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';

/**
 * The `npm start` path itself: the compiled entry point, no environment variables, the embedded
 * PostgreSQL in a fresh data directory; then a second start on the same data after a SIGKILL
 * (the postmaster survives it) and a clean SIGTERM.
 */
const root = projectRoot();
const main = path.join(root, 'dist', 'src', 'main.js');

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}

function cleanEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env; // Deliberately without DATABASE_URL, ADMIN_API_KEY, NODE_ENV=test …
}

/** Every service process this suite started, so a failing test never leaves one running. */
const children: ChildProcessWithoutNullStreams[] = [];

function start(dataDir: string): Promise<Started> {
  // SIMULATORS_PORT_BASE=0: the simulators get free ports too, so parallel runs never collide.
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: cleanEnvironment({ DATA_DIR: dataDir, PORT: '0', SIMULATORS_PORT_BASE: '0' }),
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 40 s:\n${output}`)), 40_000);
    const onData = () => {
      const match = /is listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

function postmasterPid(dataDir: string): number | null {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

/** Simulator processes started for this data directory. */
function simulatorPids(dataDir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('simulators/main.js') && line.includes(dataDir))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The JSON bodies of the README's "First payouts" block (the `-d '…'` of each curl), as a reader would send them. */
function readmeFirstPayouts(): string[] {
  const readme = readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
  const block = /<!-- first-payouts[^>]*-->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const bodies = [...block.matchAll(/-d '(\{.*\})'/g)].map((match) => match[1]);
  expect(bodies.map((body) => (JSON.parse(body) as { provider: string }).provider).sort()).toEqual([
    'connectpay',
    'd24',
    'verestro',
  ]);
  return bodies;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start (compiled service, embedded PostgreSQL, no environment variables)', () => {
  let dataDir: string;

  beforeAll(() => {
    if (!existsSync(main)) execFileSync('npx', ['nest', 'build'], { cwd: root, stdio: 'ignore' });
    dataDir = mkdtempSync(path.join(tmpdir(), 'pbt-start-'));
    chmodSync(dataDir, 0o711); // mkdtemp makes it 0700; running as root, the 'postgres' user must pass through.
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
    const pid = postmasterPid(dataDir);
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /docs and /health/ready, survives a SIGKILL with the data reused, and stops the database on SIGTERM', async () => {
    const first = await start(dataDir);
    expect((await fetch(`${first.url}/docs`)).status).toBe(200);
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    const adminKey = readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
    expect(first.output()).toContain(adminKey); // printed once, on the first start
    const authorized = await fetch(`${first.url}/v1/api-keys`, { headers: { Authorization: `Bearer ${adminKey}` } });
    expect(authorized.status).toBe(200);

    // The simulators run beside it, and the demo credentials were created through the vault.
    expect(first.output()).toMatch(
      /demo: 9 simulator credentials are ready \(8 created now\); they are listed in .*demo\.json/,
    );
    const demo = JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as {
      credentials: Array<{ provider: string; kind: string }>;
    };
    expect(demo.credentials.map((c) => `${c.provider}/${c.kind}`).sort()).toEqual([
      'connectpay/api_client',
      'connectpay/merchant_signing_key',
      'connectpay/mtls_client_certificate',
      'connectpay/oauth_refresh_token',
      'connectpay/webhook_secret',
      'd24/api_keys',
      'verestro/api_client',
      'verestro/callback_ca',
      'verestro/mtls_client_certificate',
    ]);
    const listed = await fetch(`${first.url}/v1/credentials?environment=simulator&status=active`, {
      headers: { Authorization: `Bearer ${adminKey}` },
    });
    expect(((await listed.json()) as unknown[]).length).toBe(9);

    // Nothing left to do by hand: the README's first payouts, one per rail, all reach completed.
    const payoutIds: string[] = [];
    for (const [index, body] of readmeFirstPayouts().entries()) {
      const payout = await fetch(`${first.url}/v1/payouts`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${adminKey}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': `first-${index}`,
        },
        body,
      });
      const sent = (await payout.json()) as { id: string; status: string; failure: unknown };
      expect([body, payout.status, sent.failure]).toEqual([body, 201, null]);
      payoutIds.push(sent.id);
    }
    await waitFor(async () => {
      const statuses = await Promise.all(
        payoutIds.map(async (id) => {
          const answer = await fetch(`${first.url}/v1/payouts/${id}`, {
            headers: { Authorization: `Bearer ${adminKey}` },
          });
          return ((await answer.json()) as { status: string }).status;
        }),
      );
      return statuses.every((status) => status === 'completed');
    }, 30_000);
    expect(simulatorPids(dataDir)).toHaveLength(1);

    const leftover = postmasterPid(dataDir);
    expect(leftover).not.toBeNull();
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(alive(leftover!)).toBe(true); // the known hazard: the postmaster outlives its parent
    await waitFor(() => simulatorPids(dataDir).length === 0); // the simulators notice their parent is gone

    const second = await start(dataDir);
    expect(second.output()).toMatch(/still running .* from an earlier run that did not shut down cleanly/);
    expect(second.output()).not.toContain(adminKey);
    // Kept, except the ConnectPay authorization: the restarted simulator forgot its refresh tokens.
    expect(second.output()).toMatch(/demo: 9 simulator credentials are ready \(1 created now\)/);
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
    const again = await fetch(`${second.url}/v1/api-keys`, { headers: { Authorization: `Bearer ${adminKey}` } });
    expect(again.status).toBe(200);
    expect(alive(leftover!)).toBe(false);

    const running = postmasterPid(dataDir);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(postmasterPid(dataDir)).toBeNull();
    expect(alive(running!)).toBe(false);
    expect(simulatorPids(dataDir)).toEqual([]);
  }, 90_000);

  it('refuses to start in production without DATABASE_URL and CREDENTIALS_MASTER_KEY, naming both', () => {
    let failure: { status: number; stderr: Buffer } | undefined;
    try {
      execFileSync(process.execPath, [main], {
        cwd: root,
        env: cleanEnvironment({ NODE_ENV: 'production' }),
        stdio: 'pipe',
      });
    } catch (error) {
      failure = error as { status: number; stderr: Buffer };
    }
    expect(failure?.status).toBe(78);
    expect(failure?.stderr.toString()).toMatch(/DATABASE_URL is required[\s\S]*CREDENTIALS_MASTER_KEY is required/);
  });
});
