import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { createApp } from './app.factory';
import { createBootLogger } from './common/logging/logging';
import { createProcessPolicy, installProcessPolicy } from './common/process-lifecycle';
import { ConfigurationError, Environment, loadEnvironment } from './config/environment';
import { projectRoot, resolveDataDir } from './config/paths';
import { DatabaseRuntime, startDatabase } from './database/database-runtime';
import { DemoSeed, writeDemoSummary } from './demo/demo-seed';
import { SimulatorProcess, startSimulatorProcess } from './demo/simulator-process';
import { VerestroCallbackServer } from './providers/verestro/verestro-callbacks.server';
import { runMigrations } from './database/migrator';
import { DOCS_PATH } from './openapi/openapi';

const SHUTDOWN_GRACE_MS = 10_000;
const DUPLICATE_SIGNAL_WINDOW_MS = 2_000;

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
  const log = createBootLogger(environment);
  let database: DatabaseRuntime | undefined;
  let closeApp: (() => Promise<void>) | undefined;
  let simulators: SimulatorProcess | undefined;

  // Installed before anything starts, so Ctrl-C (or a crash) during start-up also stops the embedded
  // database. An unhandled rejection or uncaught exception is logged as fatal and stops everything
  // in order with exit code 1, instead of killing the process with the database left behind.
  const policy = createProcessPolicy({
    log,
    steps: () => [
      { name: 'the app (HTTP first)', run: closeApp },
      { name: 'the simulators', run: simulators?.stop.bind(simulators) },
      { name: 'the database', run: database?.stop.bind(database) },
    ],
    exit: (code) => process.exit(code),
    graceMs: SHUTDOWN_GRACE_MS,
    duplicateSignalWindowMs: DUPLICATE_SIGNAL_WINDOW_MS,
  });
  installProcessPolicy(process, policy);

  try {
    database = await startDatabase(environment, (level, message) => log[level](message));
    if (environment.DATABASE_MIGRATIONS_RUN === 'true') {
      const applied = await runMigrations(database.url);
      log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
    }
    if (environment.simulatorsEnabled) {
      simulators = await startSimulatorProcess({
        portBase: environment.SIMULATORS_PORT_BASE,
        stateDir: path.join(resolveDataDir(environment.DATA_DIR), 'simulators'),
        log: (message) => log.warn(message),
      });
      log.info({ simulators: simulators.urls }, 'provider simulators are running');
      // The provider clients reach the simulators through configuration, like any provider.
      environment.D24_SIMULATOR_URL ??= simulators.urls.d24;
      environment.CONNECTPAY_SIMULATOR_MTLS_URL ??= simulators.urls.connectpayMtls;
      environment.CONNECTPAY_SIMULATOR_TLS_URL ??= simulators.urls.connectpayOneWay;
      environment.VERESTRO_SIMULATOR_URL ??= simulators.urls.verestro;
      environment.PROVIDER_CA_FILE = [environment.PROVIDER_CA_FILE, simulators.serverCaFile].filter(Boolean).join(',');
      environment.VERESTRO_CALLBACK_PORT ??= 0; // the Verestro simulator calls back over mutual TLS
    }
    const app = await createApp({ environment, databaseUrl: database.url });
    closeApp = () => app.close();
    await app.listen(environment.PORT, environment.HOST);
    const { port } = app.getHttpServer().address() as AddressInfo; // PORT=0 means "any free port".
    const address = `http://${environment.HOST === '0.0.0.0' ? '127.0.0.1' : environment.HOST}:${port}`;
    environment.PUBLIC_BASE_URL ??= address; // the notification_url sent to D24 points here
    if (simulators) {
      const summary = await new DemoSeed(app, simulators, address, app.get(VerestroCallbackServer).url).run();
      const file = path.join(resolveDataDir(environment.DATA_DIR), 'demo.json');
      writeDemoSummary(file, summary);
      log.info(
        { created: summary.created, file },
        `demo: ${summary.credentials.length} simulator credentials are ready (${summary.created.length} created now); ` +
          `they are listed in ${file} and under GET /v1/credentials?environment=simulator`,
      );
    }
    log.info(
      { url: address, docs: `${address}/${DOCS_PATH}`, database: database.embedded ? 'embedded' : 'DATABASE_URL' },
      `payments-backend is listening on ${address}; API docs at ${address}/${DOCS_PATH}`,
    );
  } catch (error) {
    fail(log, error);
    await database?.stop().catch(() => undefined);
    process.exit(1);
  }
}

function fail(log: Logger, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  log.fatal({ error: message }, `payments-backend could not start: ${message}`);
}

void main();
