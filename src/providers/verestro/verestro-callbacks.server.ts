import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, Server, ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ErrorBody } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-codes';
import { loggableError } from '../../common/errors/error-response';
import { requestIdFrom } from '../../common/http/request-id';
import { applyServerLimits, serverLimits, serverOptions } from '../../common/http/server-limits';
import { Environment } from '../../config/environment';
import { CredentialVault } from '../../credentials/credential-vault.service';
import { generateRsaKeyPair } from '../../credentials/crypto/key-generation';
import { SYSTEM_ACTOR } from '../../credentials/domain/credential';
import { VERESTRO_ENVIRONMENTS, type VerestroEnvironment } from './verestro.descriptor';
import { VerestroOnboarding } from './verestro.onboarding';
import { signCertificateRequest } from '../../credentials/x509/x509';
import { ProviderRegistry } from '../provider.registry';
import { WebhooksService } from '../../webhooks/webhooks.service';
import { LogThrottle } from '../../common/logging/log-throttle';

const PATH = '/v1/webhooks/verestro';

/** Headers on every answer: answers are per request (never cached) and always JSON (never sniffed). */
const ALWAYS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;

/** A callback refused for a reason the caller can fix: answered with this status and error body. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/** The body ended before it was complete (client gone, connection reset, server timeout). */
class BodyInterrupted extends Error {
  constructor(readonly reason: string) {
    super(`the callback body ended early: ${reason}`);
  }
}

function errorBody(code: ErrorCode, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

/** application/json or application/<something>+json, in UTF-8 when a charset is named. */
function isJsonMediaType(contentType: string): boolean {
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (!/^application\/([a-z0-9.!#$&^_-]+\+)?json$/.test(type)) return false;
  const charset = parameters
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** Printable ASCII, bounded: for echoing what a client sent inside an error message. */
function echo(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

/**
 * Verestro's callbacks arrive over mutual TLS in reverse: this listener accepts only clients whose
 * certificate our callback CA signed (from Verestro's CSR), works out the environment from that
 * CA, honours X-Idempotency-Key (a repeat is recorded once and answered the same), and turns the
 * callback into a status fetch.
 *
 * It is a plain node:https server facing the internet, so it defends itself: timeouts for slow
 * handshakes, headers and bodies, a connection cap, a body limit, no decompression, and no path
 * (a reset connection, a malformed request, a failing database) that can throw out of it and stop
 * the process. Every answer carries X-Request-ID; every error has the project's error shape.
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
    private readonly onboarding: VerestroOnboarding,
    private readonly vault: CredentialVault,
    private readonly registry: ProviderRegistry,
    private readonly webhooks: WebhooksService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.environment.VERESTRO_CALLBACK_PORT;
    if (port === undefined) return;
    const limits = serverLimits(this.environment);
    const server = createServer(
      {
        ...(await this.tlsOptions()),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        // A client that stalls the TLS handshake is cut off as one that stalls its headers.
        handshakeTimeout: limits.headersTimeoutMs,
        ...serverOptions(limits),
      },
      (req, res) => this.serve(req, res),
    );
    applyServerLimits(server, limits, (code, reason) =>
      this.logger.debug({ code, reason }, 'callback connection error'),
    );
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      // No certificate, one our CA did not sign, a stalled or garbled handshake: nothing to answer in HTTP.
      this.logger.debug(
        { code: error.code, reason: error.message, remoteAddress: socket.remoteAddress },
        'callback TLS handshake refused',
      );
      socket.destroy();
    });
    server.on('drop', () => this.noteDroppedConnection(limits.maxConnections));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.environment.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After start-up an error on the listening socket (EMFILE on accept, …) is logged, never thrown.
    server.on('error', (error) => this.logger.error({ error: loggableError(error) }, 'callback listener error'));
    const host = this.environment.HOST === '0.0.0.0' ? '127.0.0.1' : this.environment.HOST;
    this.url = `https://${host}:${(server.address() as AddressInfo).port}${PATH}`;
    const reloadTrust = () =>
      void this.tlsOptions()
        .then((options) => server.setSecureContext(options))
        .catch((error: unknown) =>
          this.logger.error({ error: loggableError(error) }, 'could not reload the callback trust'),
        );
    const stopChanges = this.vault.onChange((change) => {
      if (change.provider === 'verestro' && change.kind === 'callback_ca') reloadTrust();
    });
    // Changes may have been missed (see CredentialVault.onResync): the trust is read again.
    const stopResyncs = this.vault.onResync(reloadTrust);
    this.stopListening = () => {
      stopChanges();
      stopResyncs();
    };
    this.logger.log(
      {
        url: this.url,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        bodyLimit: this.environment.WEBHOOK_BODY_LIMIT_BYTES,
      },
      'listening for Verestro callbacks (mutual TLS)',
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopListening?.();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections()));
  }

  private readonly droppedConnections = new LogThrottle(10_000);

  /** Connections over the cap are closed by Node; logged at most every 10 s, so a flood cannot flood the logs. */
  private noteDroppedConnection(maxConnections: number): void {
    const due = this.droppedConnections.occurred('dropped');
    if (due)
      this.logger.warn(
        { dropped: due.sinceLastLine, maxConnections },
        'callback connections dropped: HTTP_MAX_CONNECTIONS reached',
      );
  }

  /** Trust: every environment's callback CA. Identity: the configured certificate, or one our CA issues. */
  private async tlsOptions(): Promise<ServerOptions> {
    const { VERESTRO_CALLBACK_TLS_CERT_FILE: certFile, VERESTRO_CALLBACK_TLS_KEY_FILE: keyFile } = this.environment;
    // Without a configured certificate (local use), our simulator-environment callback CA issues one.
    const local = certFile && keyFile ? null : await this.onboarding.callbackAuthority('simulator', SYSTEM_ACTOR);
    const authorities: string[] = [];
    this.authorities = new Map();
    for (const environment of VERESTRO_ENVIRONMENTS) {
      const ca = (await this.vault.activeMaterial('verestro', environment, 'callback_ca'))?.credential.certificatePem;
      if (!ca) continue;
      authorities.push(ca);
      this.authorities.set(new X509Certificate(ca).fingerprint256, environment);
    }
    if (!local)
      return {
        ca: authorities,
        cert: readFileSync(certFile as string, 'utf8'),
        key: readFileSync(keyFile as string, 'utf8'),
      };
    const keys = await generateRsaKeyPair(2048);
    const cert = await signCertificateRequest(
      local.caPem,
      local.privateKeyPem,
      { subject: 'CN=localhost,O=payments-backend', publicKeyPem: keys.publicKeyPem },
      'server',
    );
    return { ca: authorities, cert: cert ?? undefined, key: keys.privateKeyPem };
  }

  /** The request handler: nothing it does may throw or reject past this point. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const requestId = requestIdFrom(req.headers);
    res.setHeader('X-Request-ID', requestId);
    for (const [name, value] of Object.entries(ALWAYS)) res.setHeader(name, value);
    // A stream 'error' without a listener is thrown by Node; these are expected (client gone) and only logged.
    req.on('error', (error: NodeJS.ErrnoException) =>
      this.logger.debug({ requestId, code: error.code, reason: error.message }, 'callback request stream ended early'),
    );
    res.on('error', (error: NodeJS.ErrnoException) =>
      this.logger.debug({ requestId, code: error.code, reason: error.message }, 'callback answer could not be written'),
    );
    this.handle(req, requestId)
      .then((answer) => this.answer(req, res, requestId, answer.status, answer.body))
      .catch((error: unknown) => {
        if (error instanceof BodyInterrupted) {
          this.logger.warn(
            { requestId, reason: error.reason },
            'callback connection ended before its body was complete',
          );
          return;
        }
        this.logger.error({ requestId, error: loggableError(error) }, 'callback handling failed');
        this.answer(
          req,
          res,
          requestId,
          500,
          errorBody(
            ErrorCode.INTERNAL,
            `An unexpected error occurred. Retry later; if it keeps happening, report request id ${requestId}.`,
          ),
        );
      })
      .catch((error: unknown) =>
        this.logger.error({ requestId, error: loggableError(error) }, 'callback answer failed'),
      );
  }

  private async handle(req: IncomingMessage, requestId: string): Promise<{ status: number; body: unknown }> {
    try {
      return { status: 200, body: await this.receive(req, requestId) };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return { status: error.status, body: errorBody(error.code, error.message, error.details) };
    }
  }

  /** Checks, in order of cost: route, client certificate, encoding and type, size; then reads and processes. */
  private async receive(req: IncomingMessage, requestId: string): Promise<{ status: 'received' }> {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== PATH) {
      throw new Refusal(404, ErrorCode.NOT_FOUND, `Only POST ${PATH} is served here; send the callback there.`);
    }
    const peer = (req.socket as TLSSocket).getPeerCertificate(true);
    const environment = peer?.issuerCertificate
      ? this.authorities.get(peer.issuerCertificate.fingerprint256)
      : undefined;
    if (!environment) {
      this.webhooks.recordRejection('verestro', 'unverified', req.socket.remoteAddress);
      throw new Refusal(401, ErrorCode.UNAUTHENTICATED, 'The callback could not be verified.');
    }

    const encoding = req.headers['content-encoding'];
    const encodings = (encoding ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean);
    if (encodings.some((e) => e !== 'identity')) {
      // Decompressing would let a few bytes on the wire become megabytes in memory; Verestro sends plain JSON.
      throw new Refusal(
        415,
        ErrorCode.BAD_CONTENT_ENCODING,
        `The callback body must not be encoded (Content-Encoding: ${echo(encoding ?? '')} was sent); send plain JSON without a Content-Encoding header.`,
        { contentEncoding: echo(encoding ?? '') },
      );
    }
    const contentType = req.headers['content-type'];
    // Verestro's documentation does not promise a Content-Type, so none is accepted; a non-JSON one is refused.
    if (contentType !== undefined && !isJsonMediaType(contentType)) {
      throw new Refusal(
        415,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `The callback body must be JSON (Content-Type: ${echo(contentType)} was sent); send Content-Type: application/json.`,
        {
          contentType: echo(contentType),
        },
      );
    }
    const limit = this.environment.WEBHOOK_BODY_LIMIT_BYTES;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      // Refused before a byte of the body is read.
      throw this.tooLarge(limit, `Content-Length says ${Number(declared)} bytes`);
    }
    const rawBody = await this.readBody(req, limit);
    if (rawBody === null) throw this.tooLarge(limit, 'the body ran past the limit');

    const webhook = { headers: req.headers, rawBody, remoteAddress: req.socket.remoteAddress };
    const notice = await this.registry.get('verestro', environment).verifyWebhook(webhook);
    if (!notice) {
      this.webhooks.recordRejection('verestro', 'malformed', req.socket.remoteAddress);
      throw new Refusal(
        400,
        ErrorCode.MALFORMED_CALLBACK,
        'The callback body must be a JSON object with an orderId string; fix the body and send it again.',
      );
    }
    const outcome = await this.webhooks.process('verestro', [environment], notice);
    this.logger.debug({ requestId, environment, outcome }, 'Verestro callback received');
    // The same answer for a first delivery and for a repeat with the same X-Idempotency-Key.
    return { status: 'received' };
  }

  private tooLarge(limit: number, what: string): Refusal {
    return new Refusal(
      413,
      ErrorCode.PAYLOAD_TOO_LARGE,
      `The callback body is larger than the ${limit}-byte limit (${what}); send a smaller body.`,
      { limitBytes: limit },
    );
  }

  /**
   * The body, or null as soon as it runs past the limit (then reading stops: the answer closes the
   * connection). Rejects with BodyInterrupted when the stream fails or closes before its end.
   */
  private readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          done();
          req.pause();
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        done();
        resolve(Buffer.concat(chunks, size));
      };
      const onError = (error: NodeJS.ErrnoException) => {
        done();
        reject(new BodyInterrupted(error.code ? `${error.code} (${error.message})` : error.message));
      };
      const onClose = () => {
        done();
        reject(new BodyInterrupted('connection closed'));
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }

  /** Writes an answer if the connection can still take one; closes the connection when the request was not read to its end. */
  private answer(req: IncomingMessage, res: ServerResponse, requestId: string, status: number, body: unknown): void {
    if (res.headersSent || res.writableEnded || res.destroyed || req.socket.destroyed || !req.socket.writable) {
      this.logger.debug({ requestId, status }, 'callback answer dropped: the connection is gone');
      return;
    }
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    };
    // Unread body bytes would otherwise be read as the next request; closing is cheaper than draining.
    if (!req.complete) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(text);
    if (status >= 400)
      this.logger.debug({ requestId, status, code: (body as ErrorBody).error?.code }, 'Verestro callback refused');
  }

  /**
   * Errors on a connection outside a request handler: malformed HTTP, header or request timeouts,
   * resets. Answered like Node would (408, 431 or 400) but in the project's shape, then closed.
   */
}
