import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../../src/config/paths';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrations } from '../../src/database/migrator';

/**
 * Starts one real PostgreSQL for the whole run (embedded unless TEST_DATABASE_URL or
 * DATABASE_URL names a server) and builds a migrated template database. Each suite then
 * clones the template (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 */
export default async function globalSetup(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const external = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  let adminUrl: string;
  if (external) {
    adminUrl = external;
  } else {
    const server = await EmbeddedPostgres.start({
      dataDir: path.join(projectRoot(), '.data', 'test-postgres'),
      database: 'postgres',
      port: 0,
      log: (level, message) => {
        if (level !== 'debug') process.stderr.write(`[test-postgres] ${message}\n`);
      },
    });
    (globalThis as { __testPostgres?: EmbeddedPostgres }).__testPostgres = server;
    adminUrl = server.url;
    await dropDatabases(adminUrl, 'pbt\\_%'); // Leftovers of an interrupted run on our own cluster.
  }

  const template = `pbt_${runId}_template`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${template}`));
  await runMigrations(databaseUrl(adminUrl, template));

  process.env.PBT_ADMIN_URL = adminUrl;
  process.env.PBT_TEMPLATE = template;
  process.env.PBT_RUN_ID = runId;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = '/' + database;
  return url.toString();
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabases(adminUrl: string, likePattern: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      likePattern,
    ]);
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  });
}
