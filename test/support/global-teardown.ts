import type { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { dropDatabases } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.PBT_ADMIN_URL;
  if (adminUrl) await dropDatabases(adminUrl, `pbt\\_${process.env.PBT_RUN_ID}\\_%`).catch(() => undefined);
  await (globalThis as { __testPostgres?: EmbeddedPostgres }).__testPostgres?.stop();
}
