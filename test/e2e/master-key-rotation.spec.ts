import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../../src/config/paths';
import { CredentialVault } from '../../src/credentials/credential-vault.service';
import { createTestDatabase, TestDatabase } from '../support/database';
import { bearer, startTestApp } from '../support/test-app';

const run = promisify(execFile);
const script = path.join(projectRoot(), 'dist', 'scripts', 'rotate-master-key.js');
const newKey = () => randomBytes(32).toString('base64');

describe('master key rotation (npm run credentials:rotate-master-key)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    if (!existsSync(script)) await run('npx', ['nest', 'build'], { cwd: projectRoot() });
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('re-wraps every data key while the service reads old and new keys, after which the old key is not needed', async () => {
    const oldKey = newKey();
    const rotated = newKey();

    const before = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: oldKey } });
    try {
      const stored = await before.http
        .post('/v1/credentials/d24/keys')
        .set(bearer(before.adminKey))
        .send({ environment: 'prod', apiKey: 'rot-key-1', apiPassphrase: 'rot-pass-1', apiSignature: 'rot-signature-secret-1' });
      expect(stored.status).toBe(201);
    } finally {
      await before.close();
    }

    // During rotation: the new key is current, the old one still opens what is not re-wrapped yet.
    const during = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: rotated, CREDENTIALS_MASTER_KEY_PREVIOUS: oldKey } });
    try {
      const material = await during.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys');
      expect(material?.secret.apiSignature).toBe('rot-signature-secret-1');

      const env = { PATH: process.env.PATH, DATABASE_URL: database.url, CREDENTIALS_MASTER_KEY: rotated, CREDENTIALS_MASTER_KEY_PREVIOUS: oldKey, LOG_LEVEL: 'info' };
      const first = await run(process.execPath, [script], { env });
      expect(first.stdout).toMatch(/"rewrapped":1\b/);
      const second = await run(process.execPath, [script], { env });
      expect(second.stdout).toMatch(/"rewrapped":0\b/);
      expect(first.stdout + first.stderr).not.toContain(rotated);
      expect(first.stdout + first.stderr).not.toContain(oldKey);

      const events = await during.dataSource.query(`SELECT type, actor_name FROM credential_events WHERE type = 'data_key_rewrapped'`);
      expect(events).toEqual([{ type: 'data_key_rewrapped', actor_name: 'credentials:rotate-master-key' }]);
    } finally {
      await during.close();
    }

    const after = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: rotated } });
    try {
      const material = await after.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys');
      expect(material?.secret).toMatchObject({ apiKey: 'rot-key-1', apiSignature: 'rot-signature-secret-1' });
    } finally {
      await after.close();
    }

    const stale = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: oldKey } });
    try {
      await expect(stale.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys')).rejects.toThrow(/neither CREDENTIALS_MASTER_KEY/);
    } finally {
      await stale.close();
    }
  });
});
