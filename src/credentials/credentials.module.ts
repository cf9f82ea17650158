import { Logger, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Environment } from '../config/environment';
import { resolveDataDir } from '../config/paths';
import { CredentialExpiryJob } from './credential-expiry.job';
import { CredentialRenewals } from './credential-renewal';
import { CredentialVault } from './credential-vault.service';
import { CredentialsHealthIndicator } from './credentials.health';
import { CredentialsService } from './credentials.service';
import { loadMasterKeyring, MasterKeyring } from './crypto/master-keyring';
import { UnitOfWork } from '../database/unit-of-work';
import { CredentialChangesChannel } from './persistence/credential-changes.channel';
import { CredentialsRepository } from './persistence/credentials.repository';

/** The vault and the onboarding steps every provider shares; the routes are in CredentialsApiModule. */
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: MasterKeyring,
      inject: [Environment],
      useFactory: (environment: Environment) =>
        loadMasterKeyring({
          current: environment.CREDENTIALS_MASTER_KEY,
          previous: environment.CREDENTIALS_MASTER_KEY_PREVIOUS,
          production: environment.isProduction,
          dataDir: resolveDataDir(environment.DATA_DIR),
          warn: (message) => new Logger('CredentialVault').warn(message),
        }),
    },
    UnitOfWork,
    CredentialsRepository,
    CredentialChangesChannel,
    CredentialVault,
    CredentialsService,
    CredentialExpiryJob,
    CredentialRenewals,
    CredentialsHealthIndicator,
  ],
  exports: [CredentialVault, CredentialsService, CredentialsHealthIndicator, MasterKeyring, CredentialRenewals],
})
export class CredentialsModule {}
