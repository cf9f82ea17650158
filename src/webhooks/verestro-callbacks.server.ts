import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, Server, ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Environment } from '../config/environment';
import { CredentialVault } from '../credentials/credential-vault.service';
import { CredentialsService } from '../credentials/credentials.service';
import { generateRsaKeyPair } from '../credentials/crypto/key-generation';
import { ENVIRONMENTS, SYSTEM_ACTOR, VerestroEnvironment } from '../credentials/domain/credential';
import { signCertificateRequest } from '../credentials/x509/x509';
import { ProviderRegistry } from '../providers/provider.registry';
import { WebhooksService } from './webhooks.service';

const PATH = '/v1/webhooks/verestro';
const MAX_BODY = 1024 * 1024;

/**
 * Verestro's callbacks arrive over mutual TLS in reverse: this listener accepts only clients whose
 * certificate our callback CA signed (from Verestro's CSR), works out the environment from that
 * CA, honours X-Idempotency-Key (a repeat is recorded once and answered the same), and turns the
 * callback into a status fetch.
 */
@Injectable()
export class VerestroCallbackServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('VerestroCallbacks');
  private server: Server | undefined;
  private stopListening: (() => void) | undefined;
  private authorities = new Map<string, VerestroEnvironment>();
  url: string | null = null;

  constructor(
    private readonly environment: Environment,
    private readonly credentials: CredentialsService,
    private readonly vault: CredentialVault,
    private readonly registry: ProviderRegistry,
    private readonly webhooks: WebhooksService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.environment.VERESTRO_CALLBACK_PORT;
    if (port === undefined) return;
    const server = createServer({ ...(await this.tlsOptions()), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.environment.HOST, () => resolve());
    });
    const host = this.environment.HOST === '0.0.0.0' ? '127.0.0.1' : this.environment.HOST;
    this.url = `https://${host}:${(server.address() as AddressInfo).port}${PATH}`;
    this.stopListening = this.vault.onChange((change) => {
      if (change.provider === 'verestro' && change.kind === 'callback_ca') {
        void this.tlsOptions().then((options) => server.setSecureContext(options)).catch((error: unknown) => this.logger.error({ error: String(error) }, 'could not reload the callback trust'));
      }
    });
    this.logger.log({ url: this.url }, 'listening for Verestro callbacks (mutual TLS)');
  }

  async onModuleDestroy(): Promise<void> {
    this.stopListening?.();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections()));
  }

  /** Trust: every environment's callback CA. Identity: the configured certificate, or one our CA issues. */
  private async tlsOptions(): Promise<ServerOptions> {
    const { VERESTRO_CALLBACK_TLS_CERT_FILE: certFile, VERESTRO_CALLBACK_TLS_KEY_FILE: keyFile } = this.environment;
    // Without a configured certificate (local use), our simulator-environment callback CA issues one.
    const local = certFile && keyFile ? null : await this.credentials.callbackAuthority('simulator', SYSTEM_ACTOR);
    const authorities: string[] = [];
    this.authorities = new Map();
    for (const environment of ENVIRONMENTS.verestro) {
      const ca = (await this.vault.activeMaterial('verestro', environment, 'callback_ca'))?.credential.certificatePem;
      if (!ca) continue;
      authorities.push(ca);
      this.authorities.set(new X509Certificate(ca).fingerprint256, environment);
    }
    if (!local) return { ca: authorities, cert: readFileSync(certFile as string, 'utf8'), key: readFileSync(keyFile as string, 'utf8') };
    const keys = await generateRsaKeyPair(2048);
    const cert = await signCertificateRequest(local.caPem, local.privateKeyPem, { subject: 'CN=localhost,O=payments-backend', publicKeyPem: keys.publicKeyPem }, 'server');
    return { ca: authorities, cert: cert ?? undefined, key: keys.privateKeyPem };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== PATH) return answer(404, { error: { code: 'NOT_FOUND', message: `Only POST ${PATH} is served here.`, details: null } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) return answer(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'The callback body is larger than 1 MB.', details: null } });
      chunks.push(chunk as Buffer);
    }
    const peer = (req.socket as TLSSocket).getPeerCertificate(true);
    const environment = peer?.issuerCertificate ? this.authorities.get(peer.issuerCertificate.fingerprint256) : undefined;
    if (!environment) return answer(401, { error: { code: 'UNAUTHENTICATED', message: 'The callback could not be verified.', details: null } });
    const webhook = { headers: req.headers, rawBody: Buffer.concat(chunks), remoteAddress: req.socket.remoteAddress };
    const notice = await this.registry.get('verestro', environment).verifyWebhook(webhook);
    if (!notice) return answer(400, { error: { code: 'MALFORMED_CALLBACK', message: 'The callback body must be JSON with an orderId.', details: null } });
    await this.webhooks.process('verestro', environment, notice);
    // The same answer for a first delivery and for a repeat with the same X-Idempotency-Key.
    return answer(200, { status: 'received' });
  }
}
