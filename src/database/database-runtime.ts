import * as path from 'node:path';
import type { Environment } from '../config/environment';
import { resolveDataDir } from '../config/paths';
import { EmbeddedPostgres } from './embedded-postgres';

export interface DatabaseRuntime {
  url: string;
  /** True when this process started its own embedded PostgreSQL. */
  embedded: boolean;
  stop(): Promise<void>;
}

export type RuntimeLog = (level: 'debug' | 'info' | 'warn', message: string) => void;

/** DATABASE_URL when set; otherwise a real PostgreSQL embedded in DATA_DIR/postgres. */
export async function startDatabase(environment: Environment, log: RuntimeLog): Promise<DatabaseRuntime> {
  if (environment.DATABASE_URL) {
    return { url: environment.DATABASE_URL, embedded: false, stop: () => Promise.resolve() };
  }
  const server = await EmbeddedPostgres.start({
    dataDir: path.join(resolveDataDir(environment.DATA_DIR), 'postgres'),
    database: 'payments',
    port: environment.EMBEDDED_POSTGRES_PORT,
    log,
  });
  return { url: server.url, embedded: true, stop: () => server.stop() };
}
