import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { loadEnvironment } from '../../src/config/environment';
import type { TestDatabase } from './database';
import { createTestDatabase } from './database';
import { closeWatched, reportIfSlow } from './close-watch';
import { contractCheckedRequest } from './contract';

/** Collects every log line the app writes, so tests can assert what is (and is not) logged. */
export class CapturedLogs extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  adminKey: string;
  database: TestDatabase;
  dataSource: DataSource;
  dataDir: string;
  logs: CapturedLogs;
  close(): Promise<void>;
}

/** One master key for every app this test process starts, so apps sharing a database can open each other's secrets. */
export const TEST_MASTER_KEY = randomBytes(32).toString('base64');

export function randomAdminKey(): string {
  return 'pbk_test_' + randomBytes(24).toString('base64url');
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  /** Reuse a database (e.g. to start a second instance on it); a new one is cloned otherwise. */
  database?: TestDatabase;
}

/** The real application (same factory as main.ts) on its own real PostgreSQL database. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pbt-data-'));
  const adminKey = randomAdminKey();
  const environment = loadEnvironment({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    ADMIN_API_KEY: adminKey,
    DATA_DIR: dataDir,
    DATABASE_POOL_MAX: '4',
    CREDENTIALS_MASTER_KEY: TEST_MASTER_KEY,
    ...options.env,
  });
  const logs = new CapturedLogs();
  const app = await createApp({ environment, databaseUrl: database.url, logStream: logs });
  await app.init();
  return {
    app,
    // Every answer a test receives is checked against openapi.json (contract.ts).
    http: contractCheckedRequest(app.getHttpServer()),
    adminKey: environment.ADMIN_API_KEY ?? '',
    database,
    dataSource: app.get(DataSource),
    dataDir,
    logs,
    close: async () => {
      await closeWatched(app, () => logs.lines);
      if (!options.database) await reportIfSlow('dropping the test database', () => database.drop());
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(key: string): { Authorization: string } {
  return { Authorization: `Bearer ${key}` };
}
