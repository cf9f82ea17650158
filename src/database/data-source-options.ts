import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** Migrations live in the top-level migrations/ folder: .ts under Jest, .js after a build. */
const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', 'migrations', `*${path.extname(__filename)}`);

export function dataSourceOptions(url: string, poolMax = 10, poolWaitMs = 5_000): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: MIGRATIONS_TABLE,
    // The schema only ever changes through reviewed migrations.
    synchronize: false,
    migrationsRun: false,
    // gen_random_uuid() is built into PostgreSQL 13+: no extension (and no superuser) needed.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: false,
    extra: {
      max: poolMax,
      application_name: 'payments-backend',
      // Fail fast instead of hanging when the database is unreachable or every connection is
      // busy: the request is answered 503 DATABASE_BUSY with Retry-After (error-response.ts).
      connectionTimeoutMillis: poolWaitMs,
    },
  };
}
