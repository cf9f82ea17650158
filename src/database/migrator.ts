import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** One lock for everybody who migrates this database, so replicas starting together migrate once. */
const MIGRATION_LOCK_KEY = 'payments-backend:migrations';
const MIGRATION_LOCK_POLL_MS = 200;

async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Polled, not waited for: a session blocked in pg_advisory_lock() is an open transaction, and
    // CREATE INDEX CONCURRENTLY (run by the replica that holds the lock) waits until every
    // transaction open in the database has ended: both would wait for ever.
    for (;;) {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
        MIGRATION_LOCK_KEY,
      ])) as Array<{ locked: boolean }>;
      if (locked) break;
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
    }
    return await work();
  } finally {
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

export async function openDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource({ ...dataSourceOptions(url, 2) });
  await dataSource.initialize();
  return dataSource;
}

/** Applies every pending migration (each in its own transaction). Returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = await openDataSource(url);
  try {
    const applied = await withMigrationLock(dataSource, () => dataSource.runMigrations({ transaction: 'each' }));
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

export async function revertLastMigration(url: string): Promise<void> {
  const dataSource = await openDataSource(url);
  try {
    await withMigrationLock(dataSource, () => dataSource.undoLastMigration({ transaction: 'each' }));
  } finally {
    await dataSource.destroy();
  }
}

/** The SQL that would bring the database in line with the entities; empty when they agree. */
export async function pendingSchemaChanges(dataSource: DataSource): Promise<{ up: string[]; down: string[] }> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  return { up: sql.upQueries.map((query) => query.query), down: sql.downQueries.map((query) => query.query) };
}
