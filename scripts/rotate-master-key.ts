/**
 * npm run credentials:rotate-master-key
 *
 * Re-wraps every data key under CREDENTIALS_MASTER_KEY: credentials', payout and stored
 * beneficiaries', event subscriptions' signing secrets (current and replaced) and batch rows'. The secrets themselves are not re-encrypted; beneficiary fingerprints
 * (HMAC under a key derived from the master key) are recomputed in the same update, and lookups
 * match under old and new keys until then. Rotation without downtime:
 *   1. set CREDENTIALS_MASTER_KEY to the new key and CREDENTIALS_MASTER_KEY_PREVIOUS to the old one,
 *      and roll the service (it now reads both);
 *   2. run this command (safe to run twice, and beside running replicas);
 *   3. remove CREDENTIALS_MASTER_KEY_PREVIOUS and roll again.
 */
import { AuditTrail } from '../src/audit/audit-trail';
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../src/common/logging/logging';
import { loadEnvironment } from '../src/config/environment';
import { projectRoot, resolveDataDir } from '../src/config/paths';
import { CredentialVault } from '../src/credentials/credential-vault.service';
import { loadMasterKeyring } from '../src/credentials/crypto/master-keyring';
import { startDatabase } from '../src/database/database-runtime';
import { openDataSource } from '../src/database/migrator';
import { UnitOfWork } from '../src/database/unit-of-work';
import { CredentialChangesChannel } from '../src/credentials/persistence/credential-changes.channel';
import { CredentialsRepository } from '../src/credentials/persistence/credentials.repository';
import { BeneficiariesService } from '../src/beneficiaries/beneficiaries.service';
import { BeneficiariesRepository } from '../src/beneficiaries/persistence/beneficiaries.repository';
import { BeneficiarySealing } from '../src/payouts/beneficiary/beneficiary-sealing';
import { PayoutBeneficiaries } from '../src/payouts/beneficiary/payout-beneficiaries';
import { SealedBeneficiariesRepository } from '../src/payouts/persistence/sealed-beneficiaries.repository';
import { rewrapEventSecrets } from '../src/events/event-secret-sealing';
import { OutboundEventsRepository } from '../src/events/persistence/outbound-events.repository';
import { rewrapBatchRows } from '../src/batches/batch-row-sealing';
import { BatchesRepository } from '../src/batches/persistence/batches.repository';

async function main(): Promise<void> {
  const dotenv = path.join(projectRoot(), '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv);
  const environment = loadEnvironment(process.env);
  const log = createLogger(environment);
  const keyring = loadMasterKeyring({
    current: environment.CREDENTIALS_MASTER_KEY,
    previous: environment.CREDENTIALS_MASTER_KEY_PREVIOUS,
    production: environment.isProduction,
    dataDir: resolveDataDir(environment.DATA_DIR),
    warn: (message) => log.warn(message),
  });
  const database = await startDatabase(environment, (level, message) => log[level](message));
  const dataSource = await openDataSource(database.url);
  try {
    const count = await new CredentialVault(
      new UnitOfWork(dataSource),
      new CredentialsRepository(dataSource),
      new CredentialChangesChannel(dataSource),
      keyring,
    ).rewrapAll({ keyId: null, name: 'credentials:rotate-master-key' });
    const beneficiaries = await new BeneficiarySealing(
      new UnitOfWork(dataSource),
      new SealedBeneficiariesRepository(dataSource),
      new PayoutBeneficiaries(keyring),
    ).rewrapAll();
    const stored = await new BeneficiariesService(
      new BeneficiariesRepository(dataSource),
      keyring,
      new PayoutBeneficiaries(keyring),
      new AuditTrail(dataSource),
    ).rewrapAll();
    // What no key of the keyring opens (sealed under a key already removed) is skipped, named, and
    // makes the command fail at the end: everything else is re-wrapped first.
    const unopenable: string[] = [];
    const eventSecrets = await rewrapEventSecrets(new OutboundEventsRepository(dataSource), keyring, unopenable);
    const batchRows = await rewrapBatchRows(new BatchesRepository(dataSource), keyring, unopenable);
    log.info(
      {
        rewrapped: count,
        beneficiariesRewrapped: beneficiaries,
        storedBeneficiariesRewrapped: stored,
        eventSubscriptionsRewrapped: eventSecrets,
        batchRowsRewrapped: batchRows,
        masterKeyId: keyring.current.id,
      },
      count + beneficiaries + stored + eventSecrets + batchRows > 0
        ? `re-wrapped ${count} credential, ${beneficiaries} payout beneficiary, ${stored} stored beneficiary, ${eventSecrets} event subscription and ${batchRows} batch row data key(s) under ${keyring.current.id}; remove CREDENTIALS_MASTER_KEY_PREVIOUS once every replica runs with the new key`
        : `every data key is already wrapped by ${keyring.current.id}`,
    );
    if (unopenable.length > 0) {
      log.error(
        { unopenable: unopenable.slice(0, 100), count: unopenable.length },
        'some data keys are sealed under a master key neither CREDENTIALS_MASTER_KEY nor CREDENTIALS_MASTER_KEY_PREVIOUS holds: set the key that sealed them as CREDENTIALS_MASTER_KEY_PREVIOUS and run this again (an event subscription can instead be given a new secret with rotate-secret)',
      );
      process.exitCode = 1;
    }
  } finally {
    await dataSource.destroy();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
