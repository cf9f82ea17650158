import type { SecureContext, TLSSocket } from 'node:tls';
import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { AxiosError } from 'axios';
import { readFileSync } from 'node:fs';
import { Agent, AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, rootCertificates } from 'node:tls';
import { isIP } from 'node:net';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  IPolicy,
  retry,
  wrap,
} from 'cockatiel';
import { Environment } from '../../config/environment';
import { packageVersion } from '../../config/paths';
import { Metrics } from '../../observability/metrics';
import { inProviderSpan } from '../../observability/tracing';
import { CredentialVault } from '../../credentials/credential-vault.service';
import type { Credential, CredentialKind, SecretMaterial, SecretOf } from '../../credentials/domain/credential';
import { ProviderEndpoints, HostFamily } from '../provider-endpoints';
import { withOutcomeUnknown } from '../provider-errors';
import { ProviderError, type Provider, type ProviderEnvironment } from '../provider.port';

export interface OutboundRequest {
  provider: Provider;
  environment: ProviderEnvironment;
  family: HostFamily;
  /** For logs and metrics: "create", "status", … */
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Sent byte for byte (signatures are computed over exactly these bytes). */
  body?: Buffer | string;
  /**
   * True when repeating the call cannot pay twice (reads, and writes the provider deduplicates by
   * our id). Only those are retried.
   */
  idempotent: boolean;
}

/**
 * A provider's answer as received. There is deliberately no `json<T>()`: a body is read through
 * its provider mapper's schema (readAnswer in provider-errors.ts), so a malformed answer becomes
 * PROVIDER_PROTOCOL_ERROR instead of an unchecked cast.
 */
export interface OutboundResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What a provider + environment uses to connect: its agent and, for mTLS, the credential behind it. */
interface Connection {
  agent: Agent;
  credential: Credential | null;
  /** The agent's TLS context (trust store, client chain and key), for the doctor's handshake. */
  secureContext: SecureContext;
}

/** What a bare handshake with a provider host showed (see CredentialedHttp.probeTls). */
export interface TlsProbe {
  protocol: string;
  /** This side's address of the connection. */
  localAddress: string | undefined;
  serverSubject: string;
  serverValidTo: Date;
  /** The client certificate we presented (mTLS hosts), else null. */
  clientCertificate: { id: string; notAfter: Date | null } | null;
}

/**
 * An https.Agent whose connect phase (TCP + TLS handshake) has its own deadline, separate from
 * the response deadline: a provider that accepts slowly is told apart from one that answers slowly.
 */
class ConnectTimeoutAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly connectTimeoutMs: number,
    /** Called on every new TLS connection: each is a full handshake (provider_tls_handshakes_total). */
    private readonly onHandshake: () => void,
  ) {
    super(options);
  }

  override createConnection(options: AgentOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex {
    const socket = (
      Agent.prototype as unknown as { createConnection: (o: AgentOptions, c?: unknown) => TLSSocket }
    ).createConnection.call(this, options, callback);
    // A timer of its own, not the socket's idle timeout: axios sets that on every request once TCP
    // connects (`req.setTimeout`, 0 without a `timeout`), so the TLS handshake used to run under
    // the response deadline instead of this one.
    const deadline = setTimeout(
      () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECTTIMEOUT' })),
      this.connectTimeoutMs,
    );
    socket.once('secureConnect', () => {
      clearTimeout(deadline);
      this.onHandshake();
    });
    socket.once('close', () => clearTimeout(deadline));
    return socket;
  }
}

/** The most a provider's answer may hold; payout, status and bank-list answers are a few KB. */
export const PROVIDER_ANSWER_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * Sent on every provider call that does not name its own. Without it axios announced itself
 * (`axios/<version>`), which tells a provider's support desk nothing.
 */
const USER_AGENT = `payments-backend/${packageVersion()}`;

const RETRY_DELAY_MS = 100;
/** How long a credential found missing (or revoked) stays known as missing, unless a vault change comes first. */
const MISSING_CREDENTIAL_MEMORY_MS = 1_000;
const MISSING_CREDENTIAL_CODES: ReadonlySet<string> = new Set(['CREDENTIAL_MISSING', 'CREDENTIAL_REVOKED']);

/** provider_circuit_state: 0 closed, 1 half-open, 2 open (isolated counts as open). */
const CIRCUIT_GAUGE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.HalfOpen]: 1,
  [CircuitState.Open]: 2,
  [CircuitState.Isolated]: 2,
};

/** The bounded labels of a provider call: never its path (it may carry ids) or anything of its body. */
function callLabels(request: OutboundRequest): { provider: string; environment: string; operation: string } {
  return { provider: request.provider, environment: request.environment, operation: request.operation };
}

/**
 * The credentialed HTTP client every provider module uses. Per provider + environment + host
 * family it keeps one pooled keep-alive agent built from the vault (client certificate chain and
 * key for mTLS; server trust = system roots plus PROVIDER_CA_FILE; TLS ≥ 1.2; the server
 * certificate always verified). A vault change rebuilds the agent for the next call; requests in
 * flight finish on the old one. It refuses to send with a missing, expired or revoked credential,
 * applies timeouts, retries only idempotent calls, keeps a circuit breaker per provider +
 * environment, and logs every call with its timing (never headers or bodies).
 */
@Injectable()
export class CredentialedHttp implements OnModuleDestroy {
  private readonly logger = new Logger('ProviderHttp');
  private readonly connections = new Map<string, Promise<Connection>>();
  /** Opened secrets per provider + environment + kind, so a call does not read and decrypt them again. */
  private readonly materials = new Map<string, Promise<{ credential: Credential; secret: SecretMaterial }>>();
  private readonly breakers = new Map<string, ReturnType<typeof circuitBreaker>>();
  private readonly retryingBreakers = new Map<string, IPolicy>();
  /** One more attempt after a retryable failure, after a short back-off. */
  private readonly retryOnce = retry(
    handleWhen((error) => error instanceof ProviderError && error.retryable),
    { maxAttempts: 1, backoff: new ExponentialBackoff({ initialDelay: RETRY_DELAY_MS, maxDelay: 1_000 }) },
  );
  private readonly trust: string[];
  private readonly stopListening: () => void;

  constructor(
    private readonly http: HttpService,
    private readonly vault: CredentialVault,
    private readonly endpoints: ProviderEndpoints,
    private readonly environment: Environment,
    private readonly metrics: Metrics,
  ) {
    const extra = (environment.PROVIDER_CA_FILE ?? '')
      .split(',')
      .map((file) => file.trim())
      .filter(Boolean)
      .map((file) => readFileSync(file, 'utf8'));
    this.trust = [...rootCertificates, ...extra];
    const stopChanges = vault.onChange((change) => this.forget(`${change.provider}:${change.environment}:`));
    const stopResyncs = vault.onResync(() => this.forget(''));
    this.stopListening = () => {
      stopChanges();
      stopResyncs();
    };
    metrics.onScrape(() => {
      for (const [key, breaker] of this.breakers) {
        const [provider, environment] = key.split(':');
        metrics.providerCircuitState.set({ provider, environment }, CIRCUIT_GAUGE[breaker.state]);
      }
    });
  }

  onModuleDestroy(): void {
    this.stopListening();
    for (const connection of this.connections.values())
      void connection.then((c) => c.agent.destroy()).catch(() => undefined);
    this.connections.clear();
  }

  /** Circuit states per provider + environment, for readiness. */
  circuitStates(): Record<string, 'closed' | 'open' | 'half-open' | 'isolated'> {
    const names: Record<CircuitState, 'closed' | 'open' | 'half-open' | 'isolated'> = {
      [CircuitState.Closed]: 'closed',
      [CircuitState.Open]: 'open',
      [CircuitState.HalfOpen]: 'half-open',
      [CircuitState.Isolated]: 'isolated',
    };
    return Object.fromEntries([...this.breakers].map(([key, breaker]) => [key, names[breaker.state]]));
  }

  /** The full URL a request would go to (for signatures that cover the host). */
  url(provider: Provider, environment: ProviderEnvironment, family: HostFamily, path: string): string {
    return this.endpoints.baseUrl(provider, environment, family) + path;
  }

  /** The secret material behind the credential in service (for signing, Basic auth, …). */
  async material<K extends CredentialKind>(
    provider: Provider,
    environment: ProviderEnvironment,
    kind: K,
  ): Promise<{ credential: Credential; secret: SecretOf<K> }> {
    const key = `${provider}:${environment}:${kind}`;
    let loading = this.materials.get(key);
    if (!loading) {
      const loaded = this.loadMaterial(provider, environment, kind);
      loading = loaded;
      // A missing credential is remembered for a second (a vault change forgets it at once, on
      // every replica): a notification is verified against every environment of its provider,
      // and one with no credential must not cost a database round trip each time. Anything else
      // that failed (the database, say) is asked again by the next call.
      loaded.catch((error: unknown) => {
        const forget = () => {
          if (this.materials.get(key) === loaded) this.materials.delete(key);
        };
        if (error instanceof ProviderError && MISSING_CREDENTIAL_CODES.has(error.code))
          setTimeout(forget, MISSING_CREDENTIAL_MEMORY_MS).unref();
        else forget();
      });
      this.materials.set(key, loaded);
    }
    // The cache key names the kind, so what it holds is this kind's secret.
    const active = (await loading) as { credential: Credential; secret: SecretOf<K> };
    assertUsable(active.credential);
    return active;
  }

  private async loadMaterial<K extends CredentialKind>(
    provider: Provider,
    environment: ProviderEnvironment,
    kind: K,
  ): Promise<{ credential: Credential; secret: SecretOf<K> }> {
    const active = await this.vault.activeMaterial(provider, environment, kind);
    if (!active) throw await this.missingCredential(provider, environment, kind);
    return active;
  }

  /**
   * Refuses, without sending anything, what a call to this host family with these credentials would
   * be refused before its first byte: PROVIDER_NOT_CONFIGURED when the host has no URL,
   * CREDENTIAL_MISSING / CREDENTIAL_EXPIRED / CREDENTIAL_REVOKED when a credential it needs (the
   * mTLS client certificate of an `mtls` host included) is not usable. It reads the same caches
   * the calls do, which every vault change empties (in other replicas within a second, through
   * LISTEN/NOTIFY): with everything in service it costs no database round trip. A credential that
   * is missing is remembered as missing for a second at most, and a vault change forgets that too.
   */
  async assertReady(target: {
    provider: Provider;
    environment: ProviderEnvironment;
    family: HostFamily;
    kinds: readonly CredentialKind[];
  }): Promise<void> {
    const { provider, environment, family, kinds } = target;
    this.endpoints.baseUrl(provider, environment, family);
    const connection = await this.connection(provider, environment, family);
    if (connection.credential) assertUsable(connection.credential);
    for (const kind of kinds) await this.material(provider, environment, kind);
  }

  /**
   * One handshake with the host alone, exactly as a call makes it (same trust store, same client
   * certificate), then `HEAD /` and the first bytes of the answer: in TLS 1.3 a server refuses a
   * client certificate only after the client thinks the handshake is done, so an answer, not the
   * handshake event, is the proof that it was accepted. Read-only; for the doctor.
   */
  async probeTls(provider: Provider, environment: ProviderEnvironment, family: HostFamily): Promise<TlsProbe> {
    const url = new URL(this.endpoints.baseUrl(provider, environment, family));
    const connection = await this.connection(provider, environment, family);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const timeoutMs = this.environment.PROVIDER_CONNECT_TIMEOUT_MS + this.environment.PROVIDER_RESPONSE_TIMEOUT_MS;
    return new Promise<TlsProbe>((resolve, reject) => {
      // Every way the socket can end settles the promise exactly once, and always frees the socket.
      let settled = false;
      const settle = (outcome: { probe: TlsProbe } | { error: Error }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if ('probe' in outcome) resolve(outcome.probe);
        else reject(outcome.error);
      };
      const closedEarly = () =>
        Object.assign(new Error('the server closed the connection without answering'), { code: 'ECONNRESET' });
      const socket = tlsConnect({
        host,
        port: Number(url.port || 443),
        ...(isIP(host) ? {} : { servername: host }),
        secureContext: connection.secureContext,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
      });
      const timer = setTimeout(
        () => settle({ error: Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' }) }),
        timeoutMs,
      );
      let shown: Omit<TlsProbe, 'clientCertificate'> | undefined;
      socket.once('secureConnect', () => {
        const peer = socket.getPeerCertificate();
        const validTo = new Date(peer.valid_to);
        if (Number.isNaN(validTo.getTime())) {
          return settle({ error: new Error('the server certificate has no readable expiry date') });
        }
        shown = {
          protocol: socket.getProtocol() ?? 'unknown',
          localAddress: socket.localAddress,
          serverSubject: [peer.subject?.CN ?? ''].flat().join(', '),
          serverValidTo: validTo,
        };
        socket.write(`HEAD / HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
      });
      socket.once('data', () => {
        if (!shown) return settle({ error: new Error('data before the handshake') });
        const credential = connection.credential;
        settle({
          probe: {
            ...shown,
            clientCertificate: credential
              ? { id: credential.id, notAfter: credential.certificate?.notAfter ?? null }
              : null,
          },
        });
      });
      socket.once('error', (error: Error) => settle({ error }));
      socket.once('end', () => settle({ error: closedEarly() }));
      socket.once('close', () => settle({ error: closedEarly() }));
    });
  }

  async request(request: OutboundRequest): Promise<OutboundResponse> {
    const key = `${request.provider}:${request.environment}`;
    const policy: IPolicy = request.idempotent ? this.retryingBreaker(key) : this.breaker(key);
    // Once an attempt's write may have reached the provider, the call's outcome stays unknown,
    // whatever the retry then meets: a retry refused before it was sent (a connection refused or
    // not made in time, an open circuit) says nothing about the first attempt, and reporting it
    // as known would fail a payout the provider may be paying.
    let mayHaveLanded = false;
    try {
      return await policy.execute(async () => {
        try {
          return await this.send(request);
        } catch (error) {
          if (error instanceof ProviderError && error.outcomeUnknown) mayHaveLanded = true;
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        this.metrics.providerCallErrors.inc({ ...callLabels(request), code: 'CIRCUIT_OPEN' });
        throw new ProviderError(
          'CIRCUIT_OPEN',
          `${request.provider} ${request.environment} is failing; calls are paused for a few seconds.`,
          { retryable: true, outcomeUnknown: mayHaveLanded },
        );
      }
      throw mayHaveLanded ? withOutcomeUnknown(error) : error;
    }
  }

  /**
   * The breaker of `key` behind one retry of a retryable failure (idempotent calls only). Built
   * once per provider environment, not per call: cockatiel's policies hold no per-execution state.
   */
  private retryingBreaker(key: string): IPolicy {
    let policy = this.retryingBreakers.get(key);
    if (!policy) {
      policy = wrap(this.retryOnce, this.breaker(key));
      this.retryingBreakers.set(key, policy);
    }
    return policy;
  }

  private breaker(key: string) {
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = circuitBreaker(
        handleWhen(
          (error) =>
            error instanceof ProviderError && ['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT'].includes(error.code),
        ),
        {
          halfOpenAfter: this.environment.PROVIDER_CIRCUIT_HALF_OPEN_MS,
          breaker: new ConsecutiveBreaker(this.environment.PROVIDER_CIRCUIT_FAILURES),
        },
      );
      breaker.onStateChange((state) =>
        this.logger.warn({ provider: key, state: CircuitState[state] }, 'provider circuit changed state'),
      );
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  /** One attempt of a call, in its own trace span (provider, environment, operation: never URL, headers or body). */
  private send(request: OutboundRequest): Promise<OutboundResponse> {
    return inProviderSpan({ ...callLabels(request), method: request.method }, async (span) => {
      const response = await this.sendOnce(request);
      span.setAttribute('http.response.status_code', response.status);
      return response;
    });
  }

  private async sendOnce(request: OutboundRequest): Promise<OutboundResponse> {
    const baseUrl = this.endpoints.baseUrl(request.provider, request.environment, request.family);
    const connection = await this.connection(request.provider, request.environment, request.family);
    if (connection.credential) assertUsable(connection.credential);
    const started = performance.now();
    const write = request.method !== 'GET';
    // A deadline for the whole answer, last byte included. axios' own `timeout` is the socket's
    // idle time in Node (req.setTimeout): a provider sending a byte every few seconds kept a call,
    // and the payout behind it, waiting for ever.
    const deadline = new AbortController();
    const deadlineTimer = setTimeout(() => deadline.abort(), this.environment.PROVIDER_RESPONSE_TIMEOUT_MS);
    try {
      const response = await this.http.axiosRef.request<ArrayBuffer>({
        url: baseUrl + request.path,
        method: request.method,
        headers: { 'User-Agent': USER_AGENT, ...request.headers },
        data: request.body,
        httpsAgent: connection.agent,
        responseType: 'arraybuffer',
        transformRequest: [(data: unknown) => data],
        signal: deadline.signal,
        // A provider (or whatever answers in its place) cannot make us hold an answer of any size.
        maxContentLength: PROVIDER_ANSWER_LIMIT_BYTES,
        maxRedirects: 0,
        // Straight to the configured base URL, always: axios otherwise routes through whatever
        // HTTPS_PROXY / HTTP_PROXY the process environment happens to hold (set for a package
        // manager, say), so payouts would depend on a host nobody configured for them.
        proxy: false,
        validateStatus: () => true,
        decompress: true,
      });
      const elapsedMs = performance.now() - started;
      const durationMs = Math.round(elapsedMs);
      this.metrics.providerCallDuration.observe(
        { ...callLabels(request), outcome: `${Math.floor(response.status / 100)}xx` },
        elapsedMs / 1000,
      );
      if (response.status >= 500)
        this.metrics.providerCallErrors.inc({ ...callLabels(request), code: 'PROVIDER_UNAVAILABLE' });
      this.logger.log(
        {
          provider: request.provider,
          environment: request.environment,
          operation: request.operation,
          method: request.method,
          path: request.path,
          status: response.status,
          durationMs,
        },
        'provider call',
      );
      if (response.status >= 500) {
        throw new ProviderError(
          'PROVIDER_UNAVAILABLE',
          `${request.provider} answered ${response.status} to ${request.operation}.`,
          {
            retryable: true,
            outcomeUnknown: write,
            providerCode: response.status,
          },
        );
      }
      const body = Buffer.from(response.data);
      return {
        status: response.status,
        headers: Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, String(value)])),
        body,
      };
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      const mapped = transportError(error as AxiosError, request, { write, pastDeadline: deadline.signal.aborted });
      this.metrics.providerCallDuration.observe(
        { ...callLabels(request), outcome: mapped.code },
        (performance.now() - started) / 1000,
      );
      this.metrics.providerCallErrors.inc({ ...callLabels(request), code: mapped.code });
      this.logger.warn(
        {
          provider: request.provider,
          environment: request.environment,
          operation: request.operation,
          method: request.method,
          path: request.path,
          error: mapped.code,
          durationMs: Math.round(performance.now() - started),
        },
        'provider call failed',
      );
      throw mapped;
    } finally {
      clearTimeout(deadlineTimer);
    }
  }

  private connection(provider: Provider, environment: ProviderEnvironment, family: HostFamily): Promise<Connection> {
    const key = `${provider}:${environment}:${family}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = this.build(provider, environment, family);
      connection.catch(() => this.connections.delete(key));
      this.connections.set(key, connection);
    }
    return connection;
  }

  private async build(provider: Provider, environment: ProviderEnvironment, family: HostFamily): Promise<Connection> {
    const credentialed =
      family === 'mtls' ? await this.material(provider, environment, 'mtls_client_certificate') : null;
    // One TLS context per agent, built once: trust store, client chain and key. Handing the agent
    // `secureContext` instead of `ca`/`cert`/`key` matters for speed: Node derives the pool key of
    // every request from the agent's options (Agent.getName concatenates ca, cert and key, here the
    // whole system trust store) and builds a new context for every new connection from them. The
    // CPU profile of the API under the bench had 25% of its time in getName and 10% in
    // createSecureContext; with a prebuilt context both are gone.
    const secureContext = createSecureContext({
      ca: this.trust,
      minVersion: 'TLSv1.2',
      ...(credentialed
        ? {
            cert: credentialed.credential.chainPem ?? credentialed.credential.certificatePem ?? undefined,
            key: credentialed.secret.privateKeyPem,
          }
        : {}),
    });
    const agent = new ConnectTimeoutAgent(
      {
        keepAlive: true,
        maxSockets: 64,
        // As many idle sockets kept as may be open: with fewer, a burst above the idle limit closes
        // the extra sockets when it ends, and the next burst pays a TLS handshake for each again
        // (the bench saw 0.02-0.05 handshakes per request with 16). Idle ones still close after
        // the keep-alive timeout, and the server's own.
        maxFreeSockets: 64,
        minVersion: 'TLSv1.2',
        secureContext,
        // Server certificates are always verified: there is deliberately no option to turn it off.
        rejectUnauthorized: true,
      },
      this.environment.PROVIDER_CONNECT_TIMEOUT_MS,
      () => this.metrics.providerTlsHandshakes.inc({ provider, environment, family }),
    );
    return { agent, credential: credentialed?.credential ?? null, secureContext };
  }

  /**
   * After a vault change, next calls read the credential again and build a new agent; the old
   * agent finishes what it is doing, then closes.
   */
  /** Forgets the secrets and connections cached under keys starting with `prefix` ('' forgets all). */
  private forget(prefix: string): void {
    for (const key of this.materials.keys()) if (key.startsWith(prefix)) this.materials.delete(key);
    for (const [key, old] of [...this.connections]) {
      if (!key.startsWith(prefix)) continue;
      this.connections.delete(key);
      void old
        .then((connection) => setTimeout(() => connection.agent.destroy(), 30_000).unref())
        .catch(() => undefined);
    }
  }

  private async missingCredential(
    provider: Provider,
    environment: ProviderEnvironment,
    kind: Credential['kind'],
  ): Promise<ProviderError> {
    const [latest] = await this.vault.list({ provider, environment, kind });
    if (latest?.status === 'revoked') {
      return new ProviderError(
        'CREDENTIAL_REVOKED',
        `The ${provider} ${environment} ${kind} credential was revoked; store and activate a new one under /v1/credentials/${provider}.`,
      );
    }
    return new ProviderError(
      'CREDENTIAL_MISSING',
      `No ${kind} credential is in service for ${provider} ${environment}; store and activate one under /v1/credentials/${provider}.`,
    );
  }
}

function assertUsable(credential: Credential): void {
  if (credential.status === 'revoked') {
    throw new ProviderError('CREDENTIAL_REVOKED', `Credential ${credential.id} was revoked; nothing is sent with it.`);
  }
  const notAfter = credential.certificate?.notAfter;
  if (credential.status === 'expired' || (notAfter && notAfter.getTime() <= Date.now())) {
    throw new ProviderError(
      'CREDENTIAL_EXPIRED',
      `The ${credential.provider} ${credential.environment} ${credential.kind} credential ${credential.id} expired${notAfter ? ` on ${notAfter.toISOString()}` : ''}; rotate it: store and activate a new one under /v1/credentials/${credential.provider}.`,
    );
  }
}

function transportError(
  error: AxiosError,
  request: OutboundRequest,
  { write, pastDeadline }: { write: boolean; pastDeadline: boolean },
): ProviderError {
  const code = error.code ?? (error.cause as { code?: string } | undefined)?.code ?? '';
  const where = `${request.provider} ${request.environment} (${request.operation})`;
  const connectPhase = code === 'ECONNECTTIMEOUT' || /connect timeout/.test(error.message);
  if (connectPhase) {
    return new ProviderError('PROVIDER_TIMEOUT', `${where} did not accept the connection in time.`, {
      retryable: true,
    });
  }
  // The whole-answer deadline cancelled the call (axios reports a cancellation, ERR_CANCELED). It
  // counts from the request, so it may pass while a connection is still being made or waited
  // for: then nothing was sent, but that is not known here, and unknown is the safe answer.
  if (pastDeadline || code === 'ETIMEDOUT') {
    return new ProviderError('PROVIDER_TIMEOUT', `${where} did not answer in time.`, {
      retryable: true,
      outcomeUnknown: write,
    });
  }
  // axios names the limit only in its message; provider-transport.spec.ts fails if that changes.
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(error.message)) {
    return new ProviderError(
      'PROVIDER_PROTOCOL_ERROR',
      `${where} answered with more than ${PROVIDER_ANSWER_LIMIT_BYTES} bytes; reading stopped there.`,
      { outcomeUnknown: write },
    );
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new ProviderError('PROVIDER_UNAVAILABLE', `${where} could not be reached (${code}).`, { retryable: true });
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|alert/i.test(code + ' ' + error.message)) {
    return new ProviderError(
      'PROVIDER_AUTH_FAILED',
      `The TLS handshake with ${where} failed (${code || error.message}); check the certificates.`,
    );
  }
  // A reset or hang-up after the request may have been processed: the outcome is unknown.
  return new ProviderError('PROVIDER_UNAVAILABLE', `${where} dropped the connection (${code || error.message}).`, {
    retryable: true,
    outcomeUnknown: write,
  });
}
