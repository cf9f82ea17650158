import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CredentialVault } from '../credentials/credential-vault.service';
import type { Type } from '@nestjs/common';
import { CredentialsService } from '../credentials/credentials.service';
import { ConnectPayTokens } from '../providers/connectpay/connectpay.oauth';
import { ConnectPayOnboarding } from '../providers/connectpay/connectpay.onboarding';
import { D24Onboarding } from '../providers/d24/d24.onboarding';
import { VerestroOnboarding } from '../providers/verestro/verestro.onboarding';
import type { Actor, Credential } from '../credentials/domain/credential';
import { pemBlocks } from '../credentials/x509/x509';
import type { SimulatorEndpoints } from './simulator-process';

const DEMO_ACTOR: Actor = { keyId: null, name: 'demo seed' };

/**
 * Whether the seed also does what an operator does by hand for ConnectPay: generate an auth code
 * (Online Banking, here the simulator's admin API) and submit it. The demo does, so a first run
 * pays on every rail; the provider tests leave it, to test that flow themselves.
 */
export type ConnectPayAuthorization = 'complete' | 'leave-to-operator';

export interface DemoSummary {
  simulators: SimulatorEndpoints['urls'];
  credentials: Array<{ id: string; provider: string; kind: string; status: string; label: string | null }>;
  created: string[];
}

/**
 * Makes the `simulator` environment of every provider usable at once, through the product's own
 * vault flows: D24 keys, a Verestro CSR signed by the simulator, a ConnectPay chain from the
 * simulated public CA (submitted to the DevApp), the DevApp client, a webhook token and a
 * Merchant API signing key. Idempotent: what exists is kept, and re-registered with the
 * simulators in case their state was reset.
 */
export class DemoSeed {
  private readonly created: string[] = [];

  private readonly credentials: CredentialsService;
  private readonly vault: CredentialVault;
  private readonly d24: D24Onboarding;
  private readonly verestro: VerestroOnboarding;
  private readonly connectPay: ConnectPayOnboarding;
  private readonly connectPayTokens: ConnectPayTokens;

  constructor(
    /** The running application (or any context that resolves its injectables). */
    app: { get<T>(type: Type<T>): T },
    private readonly simulators: SimulatorEndpoints,
    private readonly publicBaseUrl: string,
    /** Where Verestro's callbacks go (our mutual-TLS listener), when it runs. */
    private readonly verestroCallbackUrl: string | null = null,
  ) {
    this.credentials = app.get(CredentialsService);
    this.vault = app.get(CredentialVault);
    this.d24 = app.get(D24Onboarding);
    this.verestro = app.get(VerestroOnboarding);
    this.connectPay = app.get(ConnectPayOnboarding);
    this.connectPayTokens = app.get(ConnectPayTokens);
  }

  async run(
    options: { connectPayAuthorization: ConnectPayAuthorization } = { connectPayAuthorization: 'leave-to-operator' },
  ): Promise<DemoSummary> {
    await this.d24Keys();
    await this.verestroCertificate();
    await this.verestroBasicAuth();
    await this.verestroCallbacks();
    await this.connectPayCertificate();
    await this.connectPayClient();
    await this.connectPayWebhookSecret();
    await this.connectPayMerchantKey();
    if (options.connectPayAuthorization === 'complete') await this.connectPayOAuth();
    const all = await this.vault.list({ environment: 'simulator' });
    return {
      simulators: this.simulators.urls,
      credentials: all
        .filter((c) => ['active', 'expiring'].includes(c.status))
        .map((c) => ({ id: c.id, provider: c.provider, kind: c.kind, status: c.status, label: c.label })),
      created: this.created,
    };
  }

  private async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(this.simulators.urls.admin + path, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator admin ${method} ${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  private inService<K extends Credential['kind']>(provider: Credential['provider'], kind: K) {
    return this.vault.activeMaterial(provider, 'simulator', kind);
  }

  private async d24Keys(): Promise<void> {
    const existing = await this.inService('d24', 'api_keys');
    const keys = existing
      ? existing.secret
      : {
          apiKey: 'demo' + randomBytes(8).toString('hex'),
          apiPassphrase: randomBytes(16).toString('base64url'),
          apiSignature: randomBytes(32).toString('base64url'),
          readOnlyKey: randomBytes(16).toString('base64url'),
        };
    await this.admin('PUT', '/d24/merchants', keys);
    if (!existing) {
      await this.d24.storeKeys({ environment: 'simulator', ...keys, label: 'D24 simulator keys (demo)' }, DEMO_ACTOR);
      this.created.push('D24 cashout keys');
    }
  }

  private async verestroCertificate(): Promise<void> {
    const existing = await this.inService('verestro', 'mtls_client_certificate');
    // Keep ours unless the simulator's CA was recreated (its state deleted): then it is useless.
    const { caPem } = await this.admin<{ caPem: string }>('GET', '/verestro/ca');
    if (existing && existing.credential.caPem === caPem) return;
    const { credential, csrPem } = await this.verestro.createCsr(
      {
        environment: 'simulator',
        country: 'PL',
        state: 'Mazowieckie',
        locality: 'Warsaw',
        organization: 'DemoCompany',
        companyName: 'DemoCompany',
        applicationName: 'Payouts',
        email: 'ops@demo.example',
        keyBits: 2048,
        label: 'Verestro simulator certificate (demo)',
      },
      DEMO_ACTOR,
    );
    const signed = await this.admin<{ certificatePem: string; caPem: string }>('POST', '/verestro/csr', {
      csrPem,
      environment: 'sandbox',
    });
    await this.credentials.importSignedCertificate(credential.id, signed, DEMO_ACTOR);
    this.created.push('Verestro mTLS certificate (CSR signed by the simulator)');
  }

  private async verestroBasicAuth(): Promise<void> {
    const partner = await this.admin<{ username: string; password: string }>('GET', '/verestro/partner');
    const existing = await this.inService('verestro', 'api_client');
    if (existing?.secret.clientKey === partner.username && existing.secret.clientSecret === partner.password) return;
    await this.verestro.storeBasicAuth(
      { environment: 'simulator', ...partner, label: 'Verestro simulator Basic authorization (demo)' },
      DEMO_ACTOR,
    );
    this.created.push('Verestro payouts Basic authorization');
  }

  /** Signs the simulator's callback CSR with our callback CA and points its callbacks at our listener. */
  private async verestroCallbacks(): Promise<void> {
    if (!this.verestroCallbackUrl) return;
    const { csrPem } = await this.admin<{ csrPem: string }>('GET', '/verestro/callbacks/csr');
    const { certificatePem, caPem } = await this.verestro.issueCallbackCertificate(
      { environment: 'simulator', csrPem },
      DEMO_ACTOR,
    );
    await this.admin('PUT', '/verestro/callbacks', {
      url: this.verestroCallbackUrl,
      certificatePem,
      serverCaPem: caPem,
    });
  }

  private async connectPayCertificate(): Promise<void> {
    const existing = await this.inService('connectpay', 'mtls_client_certificate');
    const { rootPem } = await this.admin<{ rootPem: string }>('GET', '/connectpay/public-ca');
    if (existing?.credential.chainPem && lastCertificateIs(existing.credential.chainPem, rootPem)) {
      // Re-submit in case the simulator's registrations were reset.
      await this.admin('POST', '/connectpay/devapp/certificates', { chainPem: existing.credential.chainPem });
      return;
    }
    const chain = await this.admin<{ chainPem: string; privateKeyPem: string }>('POST', '/connectpay/chains', {
      commonName: 'demo.payments-backend.local',
    });
    await this.connectPay.storeCertificate(
      {
        environment: 'simulator',
        chainPem: chain.chainPem,
        privateKeyPem: chain.privateKeyPem,
        label: 'ConnectPay simulator chain (demo)',
      },
      DEMO_ACTOR,
    );
    // What ConnectPay support does with the submitted .zip: attach the leaf to the DevApp.
    await this.admin('POST', '/connectpay/devapp/certificates', { chainPem: chain.chainPem });
    this.created.push('ConnectPay mTLS chain (issued by the simulated public CA, registered for the DevApp)');
  }

  private async connectPayClient(): Promise<void> {
    const devApp = await this.admin<{ clientKey: string; clientSecret: string; brandId: string }>(
      'GET',
      '/connectpay/devapp',
    );
    const existing = await this.inService('connectpay', 'api_client');
    if (existing?.secret.clientKey === devApp.clientKey && existing.secret.clientSecret === devApp.clientSecret) return;
    await this.connectPay.storeApiClient(
      {
        environment: 'simulator',
        clientKey: devApp.clientKey,
        clientSecret: devApp.clientSecret,
        brandId: devApp.brandId,
        label: 'ConnectPay simulator DevApp (demo)',
      },
      DEMO_ACTOR,
    );
    this.created.push('ConnectPay DevApp client');
  }

  private async connectPayWebhookSecret(): Promise<void> {
    const existing = await this.inService('connectpay', 'webhook_secret');
    const secretToken = existing?.secret.secretToken ?? randomUUID();
    await this.admin('PUT', '/connectpay/webhook', {
      url: `${this.publicBaseUrl}/v1/webhooks/connectpay`,
      secretToken,
      headerName: 'X-Secret-Token',
    });
    if (!existing) {
      await this.connectPay.storeWebhookSecret(
        { environment: 'simulator', secretToken, label: 'ConnectPay simulator webhook token (demo)' },
        DEMO_ACTOR,
      );
      this.created.push('ConnectPay webhook secret token');
    }
  }

  /**
   * An OAuth authorization for the simulator environment, unless the one in the vault still
   * gives an access token (a simulator started afresh no longer knows its refresh token).
   */
  private async connectPayOAuth(): Promise<void> {
    if (await this.inService('connectpay', 'oauth_refresh_token')) {
      const stillValid = await this.connectPayTokens.accessToken('simulator').then(
        () => true,
        () => false,
      );
      if (stillValid) return;
    }
    const { code } = await this.admin<{ code: string }>('POST', '/connectpay/auth-codes');
    await this.connectPayTokens.authorize('simulator', code, DEMO_ACTOR);
    this.created.push('ConnectPay OAuth authorization');
  }

  private async connectPayMerchantKey(): Promise<void> {
    let existing = (await this.inService('connectpay', 'merchant_signing_key'))?.credential;
    if (!existing) {
      existing = await this.connectPay.generateMerchantSigningKey(
        { environment: 'simulator', label: 'ConnectPay simulator Merchant API key (demo)' },
        DEMO_ACTOR,
      );
      this.created.push('ConnectPay Merchant API v2 signing key');
    }
    await this.admin('POST', '/connectpay/merchant-keys', { publicKeyPem: existing.publicKeyPem });
  }
}

function lastCertificateIs(chainPem: string, rootPem: string): boolean {
  const blocks = pemBlocks(chainPem).blocks;
  const last = blocks[blocks.length - 1];
  return (
    last !== undefined && new X509Certificate(last.der).fingerprint256 === new X509Certificate(rootPem).fingerprint256
  );
}

export function writeDemoSummary(file: string, summary: DemoSummary): void {
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n', { mode: 0o644 });
}
