import 'reflect-metadata';
// First: tracing (when configured) must patch http, express and pg before they are loaded.
import { stopTracing } from './observability/tracing-init';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { createApp } from './app.factory';
import { closeGracefully } from './common/http/server-limits';
import { createLogger, settleLogWrites } from './common/logging/logging';
import { limitHeapGrowth } from './common/memory/heap-growth';
import { createProcessPolicy, installProcessPolicy } from './common/process-lifecycle';
import type { Environment } from './config/environment';
import { ConfigurationError, loadEnvironment } from './config/environment';
import { projectRoot } from './config/paths';
import type { DatabaseRuntime } from './database/database-runtime';
import { startDatabase } from './database/database-runtime';
import type { DemoMode } from './demo-mode';
import { loadDemoMode } from './demo-mode';
import { runMigrations } from './database/migrator';
import { DOCS_PATH } from './openapi/openapi';

/**
 * Everything must have stopped by then: HTTP's drain (5 s), the handlers still at work behind
 * its cut connections (until 7.5 s, see closeGracefully), then the background work, the pool and
 * the database. docker-compose.yml gives the container 20 s before it kills it.
 */
const SHUTDOWN_GRACE_MS = 15_000;
const DUPLICATE_SIGNAL_WINDOW_MS = 2_000;
/** How long an exit waits for a log write in flight (see settleLogWrites). */
const LOG_SETTLE_MS = 2_000;

function readEnvironment(): Environment {
  const dotenv = path.join(projectRoot(), '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv); // Variables already set in the shell win.
  try {
    return loadEnvironment(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(error.message + '\n');
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const environment = readEnvironment();
  limitHeapGrowth(environment.HEAP_GROWTH_PERCENT);
  const log = createLogger(environment);
  let database: DatabaseRuntime | undefined;
  let closeApp: (() => Promise<void>) | undefined;
  let demo: DemoMode | undefined;

  // Installed before anything starts, so Ctrl-C (or a crash) during start-up also stops the embedded
  // database. An unhandled rejection or uncaught exception is logged as fatal and stops everything
  // in order with exit code 1, instead of killing the process with the database left behind.
  const policy = createProcessPolicy({
    log,
    steps: () => [
      { name: 'the app (HTTP first)', run: closeApp },
      // Spans of the last requests are sent once the app has stopped taking them.
      { name: 'tracing', run: stopTracing },
      { name: 'the simulators', run: demo?.stop.bind(demo) },
      { name: 'the database', run: database?.stop.bind(database) },
    ],
    // The last lines (the shutdown's own) reach the log before the process ends.
    exit: (code) => void settleLogWrites(LOG_SETTLE_MS).finally(() => process.exit(code)),
    graceMs: SHUTDOWN_GRACE_MS,
    duplicateSignalWindowMs: DUPLICATE_SIGNAL_WINDOW_MS,
  });
  installProcessPolicy(process, policy);

  try {
    database = await startDatabase(environment, (level, message) => log[level](message));
    if (environment.DATABASE_MIGRATIONS_RUN === 'true') {
      const applied = await runMigrations(database.url);
      log.info(
        { applied },
        applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
      );
    }
    // Development only: the simulators and demo code are not in the production build, and are
    // loaded (never imported) only here, never with NODE_ENV=production.
    if (environment.simulatorsEnabled) {
      demo = await (await loadDemoMode(environment)).startDemoMode(environment, log);
    }
    const app = await createApp({ environment, databaseUrl: database.url });
    closeApp = () => closeGracefully(app);
    await app.listen(environment.PORT, environment.HOST);
    const { port } = app.getHttpServer().address() as AddressInfo; // PORT=0 means "any free port".
    const address = `http://${environment.HOST === '0.0.0.0' ? '127.0.0.1' : environment.HOST}:${port}`;
    environment.PUBLIC_BASE_URL ??= address; // the notification URL sent to providers points here
    await demo?.seed(app, address);
    log.info(
      { url: address, docs: `${address}/${DOCS_PATH}`, database: database.embedded ? 'embedded' : 'DATABASE_URL' },
      `payments-backend is listening on ${address}; API docs at ${address}/${DOCS_PATH}`,
    );
  } catch (error) {
    fail(log, error);
    await database?.stop().catch(() => undefined);
    await settleLogWrites(LOG_SETTLE_MS);
    process.exit(1);
  }
}

function fail(log: Logger, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  log.fatal({ error: message }, `payments-backend could not start: ${message}`);
}

void main();
