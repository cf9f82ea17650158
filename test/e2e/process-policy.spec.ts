import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import type { TestDatabase } from '../support/database';
import { createTestDatabase } from '../support/database';

/**
 * The compiled service (dist/src/main.js, as `npm start` runs it) when a bug escapes every
 * handler: a preloaded helper (test/support/crash-on-signal.js) raises an unhandled rejection or
 * an uncaught exception on SIGUSR2. The process must log it as fatal, stop in order and exit 1,
 * not die silently; SIGTERM still exits 0. Runs on a test database, without the simulators.
 */
const root = projectRoot();
const main = path.join(root, 'dist', 'src', 'main.js');
const crasher = path.join(root, 'test', 'support', 'crash-on-signal.js');

const children: ChildProcessWithoutNullStreams[] = [];

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function start(
  database: TestDatabase,
  dataDir: string,
  crashKind: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--require', crasher, main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      PORT: '0',
      SIMULATORS: 'off',
      ADMIN_API_KEY: 'pbk_test_' + randomBytes(24).toString('base64url'),
      CREDENTIALS_MASTER_KEY: randomBytes(32).toString('base64'),
      PBT_CRASH_KIND: crashKind,
    },
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s:\n${output}`)), 30_000);
    const onData = () => {
      const match = /is listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the compiled service when a failure escapes every handler', () => {
  let database: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(main)) execFileSync('npx', ['nest', 'build'], { cwd: root, stdio: 'ignore' });
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'pbt-policy-'));
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['an unhandled rejection', 'rejection', 'unhandledRejection', 'injected unhandled rejection'],
    ['an uncaught exception', 'exception', 'uncaughtException', 'injected uncaught exception'],
  ])(
    '%s is logged as fatal, the service stops in order and exits 1',
    async (_name, crashKind, kind, message) => {
      const service = await start(database, dataDir, crashKind);
      expect((await fetch(`${service.url}/health`)).status).toBeLessThan(500);
      service.child.kill('SIGUSR2');
      expect(await exited(service.child)).toBe(1);
      const lines = logLines(service.output());
      const fatal = lines.find((line) => line.level === 'fatal');
      expect(fatal).toMatchObject({ kind, error: { type: 'Error', message } });
      const shutdown = lines.findIndex((line) => typeof line.msg === 'string' && line.msg.startsWith('shutting down'));
      expect(shutdown).toBeGreaterThan(lines.indexOf(fatal as Record<string, unknown>));
      expect(lines[shutdown]).toMatchObject({ reason: kind, exitCode: 1 });
      await expect(fetch(`${service.url}/health`)).rejects.toThrow(); // HTTP is closed
    },
    60_000,
  );

  it('a log reader that stops reading never stalls it: lines wait, and all arrive once it reads again', async () => {
    const service = await start(database, dataDir, 'rejection');
    // Nothing reads the pipe from here on: a synchronous writer would block on the first full pipe (64 KiB).
    service.child.stdout.pause();
    const requests = 1_500; // a warning line each (401), about 600 KB of lines
    for (let sent = 0; sent < requests; sent += 50) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => fetch(`${service.url}/v1/payouts`, { signal: AbortSignal.timeout(10_000) })),
      );
      expect(answers.every((answer) => answer.status === 401)).toBe(true);
    }
    service.child.stdout.resume();
    const allRead = new Promise((resolve) => service.child.stdout.once('end', resolve));
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
    await allRead; // 'exit' can come before the last lines are read from the pipe
    const refused = logLines(service.output()).filter(
      (line) => line.msg === 'request completed' && (line.res as { statusCode?: number })?.statusCode === 401,
    );
    expect(refused).toHaveLength(requests);
  }, 60_000);

  it('SIGTERM still stops it with exit code 0', async () => {
    const service = await start(database, dataDir, 'rejection');
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
    expect(logLines(service.output()).some((line) => line.level === 'fatal')).toBe(false);
  }, 60_000);
});
