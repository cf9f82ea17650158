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
 * PUBLIC_BASE_URL that D24 could never reach: not https, another port, or an address that is
 * private, loopback or link-local. A name that resolves to such an address from here only warns:
 * with split-horizon DNS the internet may see a public one. Without the check every cashout would
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
    const environments = [...new Set(inService.map((credential) => credential.environment))].join(', ');
    if (problem && !problem.fromResolution)
      throw new Error(`D24 credentials are in service (${environments}) but ${problem.message}`);
    if (problem) {
      // Resolution from inside the network proves nothing about the internet's view (split-horizon DNS).
      this.logger.warn(
        { publicBaseUrl: this.environment.PUBLIC_BASE_URL },
        `D24 credentials are in service (${environments}): ${problem.message} Run the provider doctor to confirm.`,
      );
      return;
    }
    this.logger.log({ publicBaseUrl: this.environment.PUBLIC_BASE_URL }, 'D24 notification URL is public HTTPS');
  }
}
