import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import { openDataSource, pendingSchemaChanges, revertLastMigration, runMigrations } from '../../src/database/migrator';
import type { TestDatabase } from '../support/database';
import { createEmptyDatabase } from '../support/database';

describe('migrations', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database.drop());

  const migrationFiles = () =>
    readdirSync(path.join(projectRoot(), 'migrations')).filter((file) => file.endsWith('.ts'));

  it('apply from scratch, and entities agree with them (no drift: run `npm run migration:generate -- Name`)', async () => {
    const applied = await runMigrations(database.url);
    expect(applied).toHaveLength(migrationFiles().length);
    const dataSource = await openDataSource(database.url);
    try {
      expect(await pendingSchemaChanges(dataSource)).toEqual({ up: [], down: [] });
      expect(await dataSource.showMigrations()).toBe(false);
    } finally {
      await dataSource.destroy();
    }
  });

  it('revert all the way down and apply again, ending without drift', async () => {
    for (let i = 0; i < migrationFiles().length; i++) await revertLastMigration(database.url);
    const dataSource = await openDataSource(database.url);
    try {
      const tables = await dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`,
      );
      expect(tables).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
    await runMigrations(database.url);
    const again = await openDataSource(database.url);
    try {
      expect((await pendingSchemaChanges(again)).up).toEqual([]);
    } finally {
      await again.destroy();
    }
  });

  it('two processes migrating at once apply each migration once', async () => {
    const fresh = await createEmptyDatabase();
    try {
      const [first, second] = await Promise.all([runMigrations(fresh.url), runMigrations(fresh.url)]);
      expect(first.length + second.length).toBe(migrationFiles().length);
    } finally {
      await fresh.drop();
    }
  });

  it('migration files are named <timestamp>-<Name>.ts', () => {
    for (const file of migrationFiles()) expect(file).toMatch(/^\d{13}-[A-Z][A-Za-z0-9]+\.ts$/);
  });
});
