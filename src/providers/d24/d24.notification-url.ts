import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Environment } from '../../config/environment';
import { CredentialVault } from '../../credentials/credential-vault.service';
import { IN_SERVICE_STATUSES } from '../../credentials/domain/credential';
import { DestinationResolver } from '../../events/destination-policy';
import { d24NotificationUrlProblem } from './d24.notification-url-rule';

/**
 * D24 posts its notifications to the `notification_url` of each cashout, which we build from
 * PUBLIC_BASE_URL; the seed says D24 reaches HTTPS on port 443 (or HTTP on 80) only, from the
 * internet. A production process with D24 credentials in service therefore refuses to start on a
 * PUBLIC_BASE_URL that D24 could never reach: not https, another port, or a host that is (or
 * resolves to) a private, loopback or link-local address. Without the check every cashout would
 * go out with a dead notification URL and be known only through the reconciler's polling.
 */
@Injectable()
export class D24NotificationUrlCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('D24');

  constructor(
    private readonly environment: Environment,
    private readonly vault: CredentialVault,
    private readonly resolver: DestinationResolver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.environment.isProduction) return;
    const inService = (await this.vault.list({ provider: 'd24' })).filter((credential) =>
      IN_SERVICE_STATUSES.includes(credential.status),
    );
    if (inService.length === 0) return;
    const problem = await d24NotificationUrlProblem(this.environment.PUBLIC_BASE_URL, (host) =>
      this.resolver.lookup(host),
    );
    if (problem) {
      throw new Error(
        `D24 credentials are in service (${[...new Set(inService.map((c) => c.environment))].join(', ')}) but ${problem}`,
      );
    }
    this.logger.log({ publicBaseUrl: this.environment.PUBLIC_BASE_URL }, 'D24 notification URL is public HTTPS');
  }
}
