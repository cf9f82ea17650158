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
import { Receiver } from '../support/receiver';
import { open, seal, type SealedSecret } from '../../src/credentials/crypto/envelope';
import { MasterKeyring } from '../../src/credentials/crypto/master-keyring';
import { batchRowContext } from '../../src/batches/domain/batch';
import { eventSignature, OutboundEvents } from '../../src/events/outbound-events.service';

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

/** A batch row as the batches service stores it, sealed under `keyring`'s current key (its batch cancelled: never sent). */
async function insertBatchRow(t: TestApp, keyring: MasterKeyring): Promise<{ batchId: string; payload: string }> {
  const batchId = randomUUID();
  const [{ id: apiKeyId }] = await t.dataSource.query(`SELECT id FROM api_keys LIMIT 1`);
  await t.dataSource.query(
    `INSERT INTO payout_batches (id, status, api_key_id, idempotency_key, request_hash, created_by_principal, source,
                                 item_count, cancelled_at)
     VALUES ($1, 'cancelled', $2, $3, repeat('0', 64), 'rotation-test', 'json', 1, now())`,
    [batchId, apiKeyId, randomUUID()],
  );
  const payload = JSON.stringify({ provider: 'connectpay', amount: '1.00', currency: 'EUR', beneficiary: iban });
  const sealed = seal(keyring, batchRowContext(batchId, 1), Buffer.from(payload, 'utf8'));
  await t.dataSource.query(
    `INSERT INTO payout_batch_items (batch_id, row, row_key, status, provider, environment, amount, currency,
                                     beneficiary_view, master_key_id, wrapped_data_key, ciphertext, due_at)
     VALUES ($1, 1, '1', 'queued', 'connectpay', 'simulator', 1, 'EUR', '{}', $2, $3, $4, now())`,
    [batchId, sealed.masterKeyId, sealed.wrappedDataKey, sealed.ciphertext],
  );
  return { batchId, payload };
}

async function batchRowSealed(t: TestApp, batchId: string): Promise<SealedSecret> {
  const [row] = await t.dataSource.query(
    `SELECT master_key_id, wrapped_data_key, ciphertext FROM payout_batch_items WHERE batch_id = $1 AND row = 1`,
    [batchId],
  );
  return { masterKeyId: row.master_key_id, wrappedDataKey: row.wrapped_data_key, ciphertext: row.ciphertext };
}

/** One event through the outbox to every subscription, delivered now; answers what the receiver got for it. */
async function deliverOneEvent(t: TestApp, receiver: Receiver, payoutId: string) {
  const before = receiver.received.length;
  const events = t.app.get(OutboundEvents);
  await t.dataSource.transaction((manager) =>
    events.enqueue(manager, 'payout.status_changed', { payoutId, from: 'pending', to: 'completed' }),
  );
  await events.dispatch();
  return receiver.received.slice(before);
}

describe('master key rotation (npm run credentials:rotate-master-key)', () => {
  let database: TestDatabase;
  const receiver = new Receiver();
  let receiverUrl = '';
  // Event destinations on this machine (the receiver) are allowed in every app of this test.
  const eventsEnv = { EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' };

  beforeAll(async () => {
    if (!existsSync(script)) await run('npx', ['nest', 'build'], { cwd: projectRoot() });
    database = await createTestDatabase();
    receiverUrl = await receiver.start();
  });
  /** Databases of single tests, dropped at the end whatever happened. */
  const databasesToDrop: TestDatabase[] = [];
  afterAll(async () => {
    await receiver.stop();
    await database.drop();
    for (const own of databasesToDrop) await own.drop();
  });

  it('re-wraps every data key while the service reads old and new keys, after which the old key is not needed', async () => {
    const oldKey = newKey();
    const rotated = newKey();

    const before = await startTestApp({ database, env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: oldKey } });
    let ibanPayout: string;
    let cardPayout: string;
    let newPayout: string;
    let ciphertextBefore: Buffer;
    let storedBeneficiaryId = '';
    // An event subscription whose secret was rotated with an overlap (two sealed secrets), and a
    // batch row still queued: both sealed under the old key, both needed after it is gone.
    let subscriptionId = '';
    let replacedSecret = '';
    let currentSecret = '';
    let batchRow = { batchId: '', payload: '' };
    try {
      const subscribed = await before.http
        .post('/v1/event-subscriptions')
        .set(bearer(before.adminKey))
        .send({ url: `${receiverUrl}/events`, events: ['payout.status_changed'] });
      expect(subscribed.status).toBe(201);
      subscriptionId = subscribed.body.id;
      replacedSecret = subscribed.body.secret;
      const rotatedSecret = await before.http
        .post(`/v1/event-subscriptions/${subscriptionId}/rotate-secret`)
        .set(bearer(before.adminKey))
        .send({ overlapHours: 2 });
      expect(rotatedSecret.status).toBe(200);
      currentSecret = rotatedSecret.body.secret;
      batchRow = await insertBatchRow(before, before.app.get(MasterKeyring));
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
      env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: rotated, CREDENTIALS_MASTER_KEY_PREVIOUS: oldKey },
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
      expect(first.stdout).toMatch(/"eventSubscriptionsRewrapped":1\b/);
      expect(first.stdout).toMatch(/"batchRowsRewrapped":1\b/);
      const second = await run(process.execPath, [script], { env });
      expect(second.stdout).toMatch(/"rewrapped":0\b/);
      expect(second.stdout).toMatch(/"beneficiariesRewrapped":0\b/);
      expect(second.stdout).toMatch(/"storedBeneficiariesRewrapped":0\b/);
      expect(second.stdout).toMatch(/"eventSubscriptionsRewrapped":0\b/);
      expect(second.stdout).toMatch(/"batchRowsRewrapped":0\b/);
      expect(first.stdout + first.stderr).not.toContain(currentSecret);
      expect(first.stdout + first.stderr).not.toContain(replacedSecret);
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

    const after = await startTestApp({ database, env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: rotated } });
    try {
      // Events are still signed, by both secrets while the overlap lasts: the old key is not needed.
      const [subscriptionRow] = await after.dataSource.query(
        'SELECT master_key_id, previous_master_key_id FROM event_subscriptions WHERE id = $1',
        [subscriptionId],
      );
      const rotatedId = masterKeyFromBase64(rotated).id;
      expect(subscriptionRow).toEqual({ master_key_id: rotatedId, previous_master_key_id: rotatedId });
      const [delivered] = await deliverOneEvent(after, receiver, 'p-after-rotation');
      const signature = String(delivered.headers['x-payments-signature']);
      const timestamp = Number(/^t=(\d+),/.exec(signature)?.[1]);
      expect(signature).toBe(eventSignature([currentSecret, replacedSecret], timestamp, delivered.body));
      // The queued batch row opens with the new key alone, and says what it said.
      const rowSealed = await batchRowSealed(after, batchRow.batchId);
      expect(rowSealed.masterKeyId).toBe(rotatedId);
      expect(open(after.app.get(MasterKeyring), batchRowContext(batchRow.batchId, 1), rowSealed).toString('utf8')).toBe(
        batchRow.payload,
      );
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

    const stale = await startTestApp({ database, env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: oldKey } });
    try {
      await expect(stale.app.get(CredentialVault).activeMaterial('d24', 'prod', 'api_keys')).rejects.toThrow(
        /neither CREDENTIALS_MASTER_KEY/,
      );
      await expect(opened(stale, cardPayout)).rejects.toThrow(/neither CREDENTIALS_MASTER_KEY/);
      // A signing secret this service cannot open: nothing is sent (never unsigned), the attempt is
      // recorded with what to do, and the dispatcher goes on.
      expect(await deliverOneEvent(stale, receiver, 'p-stale-key')).toEqual([]);
      const log = await stale.http
        .get(`/v1/event-subscriptions/${subscriptionId}/deliveries`)
        .set(bearer(stale.adminKey));
      expect(log.status).toBe(200);
      const [latest] = log.body.items as Array<{ attempts: number; status: string; lastError: string }>;
      expect(latest).toMatchObject({ attempts: 1, status: 'pending' });
      expect(latest.lastError).toMatch(/cannot be opened.*CREDENTIALS_MASTER_KEY_PREVIOUS/);
      expect(latest.lastError).not.toContain(oldKey);
      // A new secret can still be given to it; the one it cannot open gets no overlap.
      const replaced = await stale.http
        .post(`/v1/event-subscriptions/${subscriptionId}/rotate-secret`)
        .set(bearer(stale.adminKey))
        .send({ overlapHours: 2 });
      expect(replaced.status).toBe(200);
      expect(replaced.body.previousSecretExpiresAt).toBeNull();
    } finally {
      await stale.close();
    }
  });

  it('a replaced signing secret no key opens: events are signed by the current one alone, and the re-wrap names it, re-wraps the rest and exits 1', async () => {
    const key = newKey();
    const rotated = newKey();
    // A database of its own: the other test leaves data keys under master keys this one never holds.
    const own = await createTestDatabase();
    databasesToDrop.push(own);
    const t = await startTestApp({ database: own, env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: key } });
    let lostPrevious = '';
    let intact = '';
    try {
      const subscribe = async (receiverPath: string) => {
        const created = await t.http
          .post('/v1/event-subscriptions')
          .set(bearer(t.adminKey))
          .send({ url: `${receiverUrl}${receiverPath}`, events: ['payout.status_changed'] });
        expect(created.status).toBe(201);
        const replaced = await t.http
          .post(`/v1/event-subscriptions/${created.body.id}/rotate-secret`)
          .set(bearer(t.adminKey))
          .send({ overlapHours: 2 });
        expect(replaced.status).toBe(200);
        return { id: String(created.body.id), current: String(replaced.body.secret) };
      };
      const lost = await subscribe('/lost-previous');
      lostPrevious = lost.id;
      intact = (await subscribe('/intact')).id;
      // The replaced secret of one of them is sealed under a key nobody holds any more.
      const gone = new MasterKeyring(masterKeyFromBase64(newKey()));
      const sealed = seal(gone, `${lost.id}/previous`, Buffer.from('whsec_lost', 'utf8'));
      await t.dataSource.query(
        `UPDATE event_subscriptions SET previous_master_key_id = $2, previous_wrapped_data_key = $3, previous_ciphertext = $4 WHERE id = $1`,
        [lost.id, sealed.masterKeyId, sealed.wrappedDataKey, sealed.ciphertext],
      );
      const received = await deliverOneEvent(t, receiver, 'p-lost-previous');
      // Sent, not held back: signed by the current secret alone.
      const [toLost] = received.filter((request) => request.path === '/lost-previous');
      const signature = String(toLost.headers['x-payments-signature']);
      const timestamp = Number(/^t=(\d+),/.exec(signature)?.[1]);
      expect(signature).toBe(eventSignature([lost.current], timestamp, toLost.body));
      expect(received.filter((request) => request.path === '/intact')).toHaveLength(1);
      expect(t.logs.text).toContain('the replaced event signing secret cannot be opened');
      expect(t.logs.text).not.toContain('whsec_lost');
    } finally {
      await t.close();
    }

    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: own.url,
      CREDENTIALS_MASTER_KEY: rotated,
      CREDENTIALS_MASTER_KEY_PREVIOUS: key,
      LOG_LEVEL: 'info',
    };
    const failed = await run(process.execPath, [script], { env }).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const output = `${failed?.stdout}${failed?.stderr}`;
    expect(output).toContain(`event subscription ${lostPrevious} (replaced secret)`);
    expect(output).not.toContain(`event subscription ${intact}`);
    expect(output).not.toContain('whsec_lost');
    const rotatedId = masterKeyFromBase64(rotated).id;
    const check = await startTestApp({ database: own, env: { ...eventsEnv, CREDENTIALS_MASTER_KEY: rotated } });
    try {
      const after: Array<{ id: string; master_key_id: string; previous_master_key_id: string }> =
        await check.dataSource.query(
          'SELECT id, master_key_id, previous_master_key_id FROM event_subscriptions WHERE id = ANY($1::uuid[])',
          [[lostPrevious, intact]],
        );
      // The rest was re-wrapped: both current secrets, and the intact subscription's replaced one.
      expect(
        Object.fromEntries(after.map((row) => [row.id, [row.master_key_id, row.previous_master_key_id === rotatedId]])),
      ).toEqual({
        [lostPrevious]: [rotatedId, false],
        [intact]: [rotatedId, true],
      });
    } finally {
      await check.close();
    }
  });
});
