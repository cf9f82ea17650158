import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Environment } from '../config/environment';
import { resolveDataDir } from '../config/paths';
import { ApiKeysService } from './api-keys.service';

/**
 * Makes sure somebody can administer the service after start:
 * ADMIN_API_KEY when set, otherwise (outside production) a key generated on the first start,
 * printed once and written to DATA_DIR/admin-api-key for the local operator.
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminKey');

  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly environment: Environment,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.environment.ADMIN_API_KEY) {
      await this.apiKeys.ensureEnvironmentAdminKey(this.environment.ADMIN_API_KEY);
      return;
    }
    if (this.environment.isProduction) {
      // Printing or writing a secret is only acceptable on an operator's own machine.
      this.logger.warn('ADMIN_API_KEY is not set; no admin key is generated in production. Set it to manage API keys.');
      return;
    }
    const secret = await this.apiKeys.createFirstAdminKeyIfNone();
    if (!secret) return;
    const file = path.join(resolveDataDir(this.environment.DATA_DIR), 'admin-api-key');
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    this.logger.log({ file }, 'Generated the first admin API key');
    process.stdout.write(
      [
        '',
        '  First start: an admin API key with every scope was generated. It is shown only this once.',
        `    ${secret}`,
        `  It is also saved in ${file} (readable by you only).`,
        '  Use it in Swagger UI (Authorize) or as "Authorization: Bearer <key>".',
        '',
      ].join('\n') + '\n',
    );
  }
}
