import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { projectRoot } from '../../src/config/paths';
import { CredentialVault } from '../../src/credentials/credential-vault.service';
import { masterKeyFromBase64 } from '../../src/credentials/crypto/master-keyring';
import { BeneficiariesService } from '../../src/beneficiaries/beneficiaries.service';
import { BeneficiarySealing } from '../../src/payouts/beneficiary/beneficiary-sealing';
import { PayoutBeneficiaries } from '../../src/payouts/beneficiary/payout-beneficiaries';
import { PayoutEntity, toPayout } from '../../src/payouts/persistence/payout.entity';
import type { Beneficiary } from '../../src/providers/provider.port';
import type { TestDatabase } from '../support/database';
import { createTestDatabase } from '../support/database';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

const run = promisify(execFile);
const script = path.join(projectRoot(), 'dist', 'scripts', 'rotate-master-key.js');
const newKey = () => randomBytes(32).toString('base64');

const iban: Beneficiary = {
  type: 'iban',
  name: 'Erika Mustermann',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
};
const card: Beneficiary = { type: 'card', cardToken: 'tok_rotation_9911' };

/** A payout row as create() writes it (the provider is not needed here). */
async function insertPayout(t: TestApp, beneficiary: Beneficiary): Promise<string> {
  const id = randomUUID();
  await t.dataSource.getRepository(PayoutEntity).insert({
    id,
    provider: 'connectpay',
    environment: 'simulator',
    status: 'completed',
    amount: '1.00',
    currency: 'EUR',
    metadata: {},
    ...t.app.get(PayoutBeneficiaries).seal(id, beneficiary),
  });
  return id;
}

async function opened(t: TestApp, id: string): Promise<Beneficiary> {
  const row = await t.dataSource.getRepository(PayoutEntity).findOneByOrFail({ id });
  return t.app.get(PayoutBeneficiaries).open(toPayout(row).sealedBeneficiary);
}

async function columnsOf(
  t: TestApp,
  id: string,
): Promise<{ beneficiary_master_key_id: string; beneficiary_fingerprint: string; beneficiary_ciphertext: Buffer }> {
  const [row] = await t.dataSource.query(
    `SELECT beneficiary_master_key_id, beneficiary_fingerprint, beneficiary_ciphertext FROM payouts WHERE id = $1`,
    [id],
  );
  return row;
}

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
    let ibanPayout: string;
    let cardPayout: string;
    let newPayout: string;
    let ciphertextBefore: Buffer;
    let storedBeneficiaryId = '';
    try {
      ibanPayout = await insertPayout(before, iban);
      cardPayout = await insertPayout(before, card);
      ciphertextBefore = (await columnsOf(before, ibanPayout)).beneficiary_ciphertext;
      expect(await before.app.get(BeneficiarySealing).payoutIdsTo(iban)).toEqual([ibanPayout]);
      const stored = await before.http.post('/v1/credentials/d24/keys').set(bearer(before.adminKey)).send({
        environment: 'prod',
        apiKey: 'rot-key-1',
        apiPassphrase: 'rot-pass-1',
        apiSignature: 'rot-signature-secret-1',
      });
      expect(stored.status).toBe(201);
      const kept = await before.http
        .post('/v1/beneficiaries')
        .set(bearer(before.adminKey))
        .send({ beneficiary: iban, label: 'rotation' });
      expect(kept.status).toBe(201);
      storedBeneficiaryId = kept.body.id;
    } finally {
      await before.close();
    }

    // During rotation: the new key is current, the old one still opens what is not re-wrapped yet.
    const during = await startTestApp({
      database,
      env: { CREDENTIALS_MASTER_KEY: rotated, CREDENTIALS_MASTER_KEY_PREVIOUS: oldKey },
    });
    try {
      const material = await during.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys');
      expect(material?.secret.apiSignature).toBe('rot-signature-secret-1');
      // Beneficiaries still open, and lookups find them (fingerprints under the old key match too).
      expect(await opened(during, ibanPayout)).toEqual(iban);
      newPayout = await insertPayout(during, iban); // sealed under the new key by a rolled replica
      expect(new Set(await during.app.get(BeneficiarySealing).payoutIdsTo(iban))).toEqual(
        new Set([ibanPayout, newPayout]),
      );
      expect(await during.app.get(BeneficiarySealing).payoutIdsTo(card)).toEqual([cardPayout]);

      const env = {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        CREDENTIALS_MASTER_KEY: rotated,
        CREDENTIALS_MASTER_KEY_PREVIOUS: oldKey,
        LOG_LEVEL: 'info',
      };
      const first = await run(process.execPath, [script], { env });
      expect(first.stdout).toMatch(/"rewrapped":1\b/);
      expect(first.stdout).toMatch(/"beneficiariesRewrapped":2\b/);
      expect(first.stdout).toMatch(/"storedBeneficiariesRewrapped":1\b/);
      const second = await run(process.execPath, [script], { env });
      expect(second.stdout).toMatch(/"rewrapped":0\b/);
      expect(second.stdout).toMatch(/"beneficiariesRewrapped":0\b/);
      expect(second.stdout).toMatch(/"storedBeneficiariesRewrapped":0\b/);
      expect(first.stdout + first.stderr).not.toContain(iban.iban);
      expect(first.stdout + first.stderr).not.toContain(rotated);
      expect(first.stdout + first.stderr).not.toContain(oldKey);

      const events = await during.dataSource.query(
        `SELECT type, actor_name FROM credential_events WHERE type = 'data_key_rewrapped'`,
      );
      expect(events).toEqual([{ type: 'data_key_rewrapped', actor_name: 'credentials:rotate-master-key' }]);
    } finally {
      await during.close();
    }

    const after = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: rotated } });
    try {
      const material = await after.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys');
      expect(material?.secret).toMatchObject({ apiKey: 'rot-key-1', apiSignature: 'rot-signature-secret-1' });
      // Re-wrapped (ciphertext untouched), fingerprint recomputed under the new key: the old key is not needed.
      const beneficiaries = after.app.get(PayoutBeneficiaries);
      const row = await columnsOf(after, ibanPayout);
      expect(row.beneficiary_master_key_id).toBe(masterKeyFromBase64(rotated).id);
      expect(row.beneficiary_ciphertext.equals(ciphertextBefore)).toBe(true);
      expect(row.beneficiary_fingerprint).toBe(beneficiaries.fingerprint(iban));
      expect(beneficiaries.fingerprints(iban)).toEqual([beneficiaries.fingerprint(iban)]);
      expect(await opened(after, ibanPayout)).toEqual(iban);
      expect(await opened(after, cardPayout)).toEqual(card);
      expect(new Set(await after.app.get(BeneficiarySealing).payoutIdsTo(iban))).toEqual(
        new Set([ibanPayout, newPayout]),
      );
      expect(await after.app.get(BeneficiarySealing).payoutIdsTo(card)).toEqual([cardPayout]);
      // The stored beneficiary too: re-wrapped under the new key, opens with it alone, same fingerprint rule.
      const [storedRow] = await after.dataSource.query(
        'SELECT master_key_id, fingerprint FROM beneficiaries WHERE id = $1',
        [storedBeneficiaryId],
      );
      expect(storedRow).toEqual({
        master_key_id: masterKeyFromBase64(rotated).id,
        fingerprint: beneficiaries.fingerprint(iban),
      });
      expect(await after.app.get(BeneficiariesService).openForPayout(storedBeneficiaryId, 'connectpay')).toEqual(iban);
    } finally {
      await after.close();
    }

    const stale = await startTestApp({ database, env: { CREDENTIALS_MASTER_KEY: oldKey } });
    try {
      await expect(stale.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys')).rejects.toThrow(
        /neither CREDENTIALS_MASTER_KEY/,
      );
      await expect(opened(stale, cardPayout)).rejects.toThrow(/neither CREDENTIALS_MASTER_KEY/);
    } finally {
      await stale.close();
    }
  });
});
