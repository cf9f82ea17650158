/**
 * npm run migration:run | migration:revert | migration:generate -- <Name>
 * Uses DATABASE_URL when set, otherwise the embedded cluster in DATA_DIR (started for the command).
 */
import 'reflect-metadata';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../src/common/logging/logging';
import { loadEnvironment } from '../src/config/environment';
import { projectRoot } from '../src/config/paths';
import { startDatabase } from '../src/database/database-runtime';
import { openDataSource, pendingSchemaChanges, revertLastMigration, runMigrations } from '../src/database/migrator';

async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  const dotenv = path.join(projectRoot(), '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv);
  const environment = loadEnvironment(process.env);
  const log = createLogger(environment);
  const database = await startDatabase(environment, (level, message) => log[level](message));
  try {
    switch (command) {
      case 'run': {
        const applied = await runMigrations(database.url);
        log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'nothing to apply');
        break;
      }
      case 'revert':
        await revertLastMigration(database.url);
        log.info('reverted the last migration');
        break;
      case 'generate': {
        if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
          throw new Error('Give the migration a PascalCase name: npm run migration:generate -- AddPayouts');
        }
        await runMigrations(database.url);
        const dataSource = await openDataSource(database.url);
        const changes = await pendingSchemaChanges(dataSource).finally(() => dataSource.destroy());
        if (changes.up.length === 0) {
          log.info('entities and migrations agree; no migration written');
          break;
        }
        const timestamp = Date.now();
        const file = path.join(projectRoot(), 'migrations', `${timestamp}-${name}.ts`);
        writeFileSync(file, migrationSource(name, timestamp, changes.up, changes.down.reverse()));
        log.info({ file }, 'migration written; review it before committing');
        break;
      }
      default:
        throw new Error('usage: migrations.js run | revert | generate <Name>');
    }
  } finally {
    await database.stop();
  }
}

function migrationSource(name: string, timestamp: number, up: string[], down: string[]): string {
  const literal = (sql: string) => '`' + sql.replace(/[`\\]/g, '\\$&').replace(/\$\{/g, '\\${') + '`';
  const lines = (queries: string[]) => queries.map((sql) => `    await queryRunner.query(${literal(sql)});`).join('\n');
  return `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${name}${timestamp} implements MigrationInterface {
  name = '${name}${timestamp}';

  public async up(queryRunner: QueryRunner): Promise<void> {
${lines(up)}
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
${lines(down)}
  }
}
`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
