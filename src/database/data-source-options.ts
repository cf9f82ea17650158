import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** Migrations live in the top-level migrations/ folder: .ts under Jest, .js after a build. */
const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', 'migrations', `*${path.extname(__filename)}`);

/** How long a pooled connection may sit unused before it is closed. */
const POOL_IDLE_TIMEOUT_MS = 5 * 60_000;

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
      // pg-pool closes a connection idle for 10 s by default and hands out the most recently used
      // first, so under a load that rises and falls the pool kept closing connections and opening
      // new ones in the next burst: each paid a backend start, SCRAM and the re-preparing of every
      // statement in the middle of requests (the bench saw 34 new connections in 90 s of runs).
      // Kept for five minutes instead: the extra connections of a burst still go away.
      idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
      // A connection idle that long would be dropped without a word by a NAT or load balancer
      // with a shorter idle limit (Azure's is 4 minutes); TCP keepalive every minute keeps it known.
      keepAlive: true,
      keepAliveInitialDelayMillis: 60_000,
    },
  };
}
