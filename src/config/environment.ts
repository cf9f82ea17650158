import { plainToInstance, Transform } from 'class-transformer';
import {
  getMetadataStorage,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';
import { parseAllowedDestinations } from '../events/destination-policy';
import type { RegisteredProviderSettings } from '../providers/registered-providers';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { blankToUndefined, toInt } from './variable-rules';

export const NODE_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type NodeEnvironment = (typeof NODE_ENVIRONMENTS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Every environment variable the service reads, validated at boot: the core ones below, and each
 * registered provider's own (its `settings` class, merged in by loadEnvironment).
 * Keep `.env.example` and the README's configuration table in step with both
 * (a test compares them).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the provider settings interface below adds their variables
export class Environment {
  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(NODE_ENVIRONMENTS, { message: `must be one of ${NODE_ENVIRONMENTS.join(', ')}` })
  NODE_ENV: NodeEnvironment = 'development';

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  HOST: string = '127.0.0.1';

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer port number' })
  @Min(0, { message: 'must be between 0 and 65535' })
  @Max(65535, { message: 'must be between 0 and 65535' })
  PORT: number = 3000;

  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// or postgresql:// connection URL' })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 200' })
  @Max(200, { message: 'must be between 1 and 200' })
  DATABASE_POOL_MAX: number = 10;

  /**
   * How long a request waits for a pooled connection (or a new one) before it is answered 503
   * DATABASE_BUSY with Retry-After, instead of queueing without end behind a busy pool.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(100, { message: 'must be between 100 and 60000 milliseconds' })
  @Max(60_000, { message: 'must be between 100 and 60000 milliseconds' })
  DATABASE_POOL_WAIT_MS: number = 5_000;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'must be true or false' })
  DATABASE_MIGRATIONS_RUN: 'true' | 'false' = 'true';

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  DATA_DIR: string = '.data';

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer port number (0 picks a free port)' })
  @Min(0, { message: 'must be between 0 and 65535' })
  @Max(65535, { message: 'must be between 0 and 65535' })
  EMBEDDED_POSTGRES_PORT: number = 0;

  /**
   * How far V8 lets the heap grow past what survived its last full collection before it collects
   * again: 50 means 1.5 times. V8's own choice (0 here) grows it 2.5 to 4 times while allocation is
   * fast, and what grows in between is mostly garbage that the service still holds as resident
   * memory; the README's "How fast, how safe" has the measurements.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(0, { message: 'must be between 0 (V8 decides) and 300' })
  @Max(300, { message: 'must be between 0 (V8 decides) and 300' })
  HEAP_GROWTH_PERCENT: number = 50;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /**
   * `json`: one JSON object per line, for a log pipeline. `pretty`: coloured, one readable line per
   * entry, for a person at a terminal. Unset: pretty when standard output is a terminal outside
   * production, JSON otherwise (piped, in a container, in production).
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT?: LogFormat;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters long' })
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'may only contain letters, digits, "_" and "-"' })
  ADMIN_API_KEY?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be exactly 32 bytes encoded as base64 (openssl rand -base64 32)' })
  CREDENTIALS_MASTER_KEY?: string;

  /**
   * Earlier master keys, comma-separated, still able to unwrap data keys while
   * `npm run credentials:rotate-master-key` re-wraps them under CREDENTIALS_MASTER_KEY.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$/, {
    message: 'must be a comma-separated list of 32-byte base64 keys',
  })
  CREDENTIALS_MASTER_KEY_PREVIOUS?: string;

  /**
   * auto: outside production, `npm start` also runs the provider simulators and seeds demo
   * credentials for their `simulator` environments. off: never. Production never runs them.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(['auto', 'off'], { message: 'must be auto or off' })
  SIMULATORS: 'auto' | 'off' = 'auto';

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer port number (0 picks free ports)' })
  @Min(0, { message: 'must be between 0 and 65530' })
  @Max(65530, { message: 'must be between 0 and 65530' })
  SIMULATORS_PORT_BASE: number = 4100;

  /** Extra trust anchors for provider servers, PEM files, comma-separated (system roots stay trusted). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  PROVIDER_CA_FILE?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(100, { message: 'must be between 100 and 60000' })
  @Max(60_000, { message: 'must be between 100 and 60000' })
  PROVIDER_CONNECT_TIMEOUT_MS: number = 5_000;

  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(100, { message: 'must be between 100 and 120000' })
  @Max(120_000, { message: 'must be between 100 and 120000' })
  PROVIDER_RESPONSE_TIMEOUT_MS: number = 15_000;

  /** Consecutive failures (5xx, timeouts, unreachable) that open a provider's circuit. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 1000' })
  @Max(1000, { message: 'must be between 1 and 1000' })
  PROVIDER_CIRCUIT_FAILURES: number = 5;

  /** How long an open circuit pauses calls before one is let through to test the provider (ms). */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(50, { message: 'must be between 50 and 600000' })
  @Max(600_000, { message: 'must be between 50 and 600000' })
  PROVIDER_CIRCUIT_HALF_OPEN_MS: number = 10_000;

  /** Public URL of this service, used to build the notification URL sent to providers that call back. Default: the local address. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/]+(\/\S*)?$/, { message: 'must be an http(s):// URL' })
  PUBLIC_BASE_URL?: string;

  /** How often the reconciler looks for payouts to re-check (ms); each payout backs off from there. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(50, { message: 'must be between 50 and 600000' })
  @Max(600_000, { message: 'must be between 50 and 600000' })
  RECONCILE_INTERVAL_MS: number = 5_000;

  /**
   * How many checks (status fetches, re-submissions) one replica's reconciler runs at once against
   * one provider: a backlog drains as fast as this allows without flooding the provider.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 256' })
  @Max(256, { message: 'must be between 1 and 256' })
  RECONCILE_CONCURRENCY: number = 16;

  /** Per-provider exceptions to RECONCILE_CONCURRENCY: `provider=n` pairs, comma-separated (see reconcileConcurrencyOf). */
  @Transform(blankToUndefined)
  @IsOptional()
  RECONCILE_CONCURRENCY_BY_PROVIDER?: string;

  /**
   * How many batch rows one replica sends at once to one provider (each a payout create): a
   * 10,000-row batch goes as fast as this allows without flooding the provider.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 256' })
  @Max(256, { message: 'must be between 1 and 256' })
  BATCH_CONCURRENCY: number = 8;

  /**
   * Batch requests (JSON or CSV) one replica reads and checks at once; more answer 429
   * BATCH_INTAKE_BUSY. Checking 10,000 rows takes over a second of CPU (see BatchIntakeLimit).
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 64' })
  @Max(64, { message: 'must be between 1 and 64' })
  BATCH_INTAKE_CONCURRENCY: number = 2;

  /** Per-provider exceptions to BATCH_CONCURRENCY: `provider=n` pairs, comma-separated (see batchConcurrencyOf). */
  @Transform(blankToUndefined)
  @IsOptional()
  BATCH_CONCURRENCY_BY_PROVIDER?: string;

  // The HTTP edge (main listener and the provider callback listeners).

  /** Time a client has to send the request headers (ms); slower clients are cut off with 408. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(100, { message: 'must be between 100 and 120000' })
  @Max(120_000, { message: 'must be between 100 and 120000' })
  HTTP_HEADERS_TIMEOUT_MS: number = 10_000;

  /** Time a client has to send the whole request, body included (ms). */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(100, { message: 'must be between 100 and 600000' })
  @Max(600_000, { message: 'must be between 100 and 600000' })
  HTTP_REQUEST_TIMEOUT_MS: number = 30_000;

  /** How long an idle keep-alive connection stays open (ms); keep it below the load balancer's. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(100, { message: 'must be between 100 and 600000' })
  @Max(600_000, { message: 'must be between 100 and 600000' })
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number = 5_000;

  /** Open connections accepted per listener; more are closed at once. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be between 1 and 100000' })
  @Max(100_000, { message: 'must be between 1 and 100000' })
  HTTP_MAX_CONNECTIONS: number = 1_024;

  /**
   * Which proxies may set X-Forwarded-For (Express "trust proxy"): unset trusts none, so the
   * client address is the socket's; e.g. "loopback", "10.0.0.0/8" or a hop count such as "1".
   * Rate limits and IP allow-lists use the address this yields.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^(\d{1,2}|[0-9A-Za-z.:/_, -]{1,500})$/, {
    message: 'must be a hop count, or comma-separated addresses, CIDR ranges or loopback/linklocal/uniquelocal',
  })
  TRUST_PROXY?: string;

  /** Swagger UI and /docs-json: public, protected (an API key as Bearer or as the Basic password), or off. Default: public, protected in production. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(['public', 'protected', 'off'], { message: 'must be public, protected or off' })
  API_DOCS?: 'public' | 'protected' | 'off';

  // Observability.

  /**
   * Where Prometheus metrics are served: `scope` (GET /metrics on the API port, for an API key
   * with metrics:read; the default), `port` (GET /metrics on METRICS_HOST:METRICS_PORT, no key:
   * keep that address private), or `off`. Never public by default.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsIn(['scope', 'port', 'off'], { message: 'must be scope, port or off' })
  METRICS: 'scope' | 'port' | 'off' = 'scope';

  /** METRICS=port: the metrics listener's port. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(0, { message: 'must be between 0 and 65535' })
  @Max(65_535, { message: 'must be between 0 and 65535' })
  METRICS_PORT: number = 9464;

  /** METRICS=port: the address the metrics listener binds (loopback unless a scraper elsewhere must reach it). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  METRICS_HOST: string = '127.0.0.1';

  /**
   * OpenTelemetry tracing: off unless set. The OTLP/HTTP endpoint traces are sent to (e.g.
   * http://collector:4318); spans of HTTP requests, SQL and provider calls, never headers or bodies.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL, e.g. http://collector:4318' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** The service name traces carry. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OTEL_SERVICE_NAME: string = 'payments-backend';

  /** Length of a rate-limit window (ms); every limit below counts per window. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(1_000, { message: 'must be between 1000 and 3600000' })
  @Max(3_600_000, { message: 'must be between 1000 and 3600000' })
  RATE_LIMIT_WINDOW_MS: number = 10_000;

  /** Requests per API key per window, across all replicas; 0 turns the limit off. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(0, { message: 'must be between 0 and 10000000' })
  @Max(10_000_000, { message: 'must be between 0 and 10000000' })
  RATE_LIMIT_PER_KEY: number = 10_000;

  /** Failed authentications per client address per window before that address gets 429; 0 turns it off. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(0, { message: 'must be between 0 and 1000000' })
  @Max(1_000_000, { message: 'must be between 0 and 1000000' })
  RATE_LIMIT_AUTH_FAILURES: number = 20;

  /**
   * Webhook requests per source address per window (all providers); 0 turns the limit off. 10,000
   * per 10 s: a provider sends one or two notifications per payout from a few addresses, and a
   * batch on one replica sends 140–160 rows/s here (about 300 notifications/s back). At 2,000 a
   * fifth of them were answered 429. A forged notification is refused without a database read.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(0, { message: 'must be between 0 and 10000000' })
  @Max(10_000_000, { message: 'must be between 0 and 10000000' })
  RATE_LIMIT_WEBHOOKS_PER_SOURCE: number = 10_000;

  /** Largest provider notification body accepted (bytes), on the webhook routes and the callback listener. */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of bytes' })
  @Min(1_024, { message: 'must be between 1024 and 1048576' })
  @Max(1_048_576, { message: 'must be between 1024 and 1048576' })
  WEBHOOK_BODY_LIMIT_BYTES: number = 65_536;

  /**
   * At most one provider status fetch per payout in this interval (ms), whatever the number of
   * notifications; a notification inside it schedules one follow-up fetch at its end.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(0, { message: 'must be between 0 and 3600000' })
  @Max(3_600_000, { message: 'must be between 0 and 3600000' })
  WEBHOOK_FETCH_INTERVAL_MS: number = 5_000;

  /**
   * How long a retried payout request waits for the first attempt with the same Idempotency-Key
   * while that attempt is still running (ms), before a 409 with Retry-After.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(0, { message: 'must be between 0 and 30000' })
  @Max(30_000, { message: 'must be between 0 and 30000' })
  IDEMPOTENCY_WAIT_MS: number = 2_000;

  /**
   * How long a payout waits in pending_approval for its approvals (hours). When it runs out, the
   * payout is cancelled (failure code APPROVAL_EXPIRED), never sent.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer number of hours' })
  @Min(1, { message: 'must be between 1 and 720' })
  @Max(720, { message: 'must be between 1 and 720' })
  PAYOUT_APPROVAL_TTL_HOURS: number = 72;

  /**
   * Private addresses and names event subscriptions may reach, comma-separated CIDR ranges and
   * host names (e.g. "10.0.0.0/8,events.internal"). Public addresses are always allowed;
   * loopback, link-local (cloud metadata), unspecified and multicast only inside a listed range.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[0-9A-Za-z.:/_-]+(,[0-9A-Za-z.:/_-]+)*$/, {
    message: 'must be comma-separated CIDR ranges, addresses or host names',
  })
  EVENTS_ALLOWED_DESTINATIONS?: string;

  /**
   * Private addresses and names a certificate's CRL distribution point may be fetched from when a
   * client chain is checked for revocation, in the same syntax. The URL comes from a certificate
   * an operator imports, so by default only public addresses are fetched.
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[0-9A-Za-z.:/_-]+(,[0-9A-Za-z.:/_-]+)*$/, {
    message: 'must be comma-separated CIDR ranges, addresses or host names',
  })
  REVOCATION_ALLOWED_DESTINATIONS?: string;
  get simulatorsEnabled(): boolean {
    return this.SIMULATORS === 'auto' && !this.isProduction;
  }

  get isProduction(): boolean {
    return this.NODE_ENV === 'production';
  }

  get logFormat(): LogFormat {
    return this.LOG_FORMAT ?? (!this.isProduction && process.stdout.isTTY ? 'pretty' : 'json');
  }

  get apiDocs(): 'public' | 'protected' | 'off' {
    return this.API_DOCS ?? (this.isProduction ? 'protected' : 'public');
  }
}

/** Variables whose values are secrets: never echoed, never logged. */
export const SENSITIVE_VARIABLES: ReadonlySet<keyof Environment> = new Set([
  'DATABASE_URL',
  'ADMIN_API_KEY',
  'CREDENTIALS_MASTER_KEY',
  'CREDENTIALS_MASTER_KEY_PREVIOUS',
]);

/** The provider variables are declared by each provider's settings class and merged in at load. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Environment extends RegisteredProviderSettings {}

/** A variable's value by its name, for the provider settings a descriptor names (base URLs, allow-lists). */
export function settingValue(environment: Environment, variable: string): string | undefined {
  const value = (environment as unknown as Record<string, unknown>)[variable];
  return typeof value === 'string' ? value : undefined;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration; fix these environment variables and start again:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

/** The classes that declare variables: the core one, then each registered provider's settings. */
const settingsClasses = (): Array<new () => object> => [
  Environment,
  ...PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.settings),
];

function variablesOf(settingsClass: new () => object): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(settingsClass, '', true, false);
  return [...new Set(metadata.map((rule) => rule.propertyName))];
}

/** The names of all variables the service reads, taken from the validation rules of every settings class. */
export function environmentVariableNames(): string[] {
  return [...new Set(settingsClasses().flatMap(variablesOf))].sort();
}

function describe(errors: ValidationError[]): string[] {
  // Values are deliberately left out of the messages: several variables are secrets.
  return errors.map(
    (error) => `${error.property} ${[...new Set(Object.values(error.constraints ?? {}))].reverse().join('; ')}`,
  );
}

/**
 * Validates raw environment variables (process.env or a test's overrides) into an Environment.
 * Throws a ConfigurationError that names every bad variable.
 */
export function loadEnvironment(source: Record<string, string | undefined>): Environment {
  const pick = (settingsClass: new () => object): Record<string, unknown> => {
    const picked: Record<string, unknown> = {};
    for (const name of variablesOf(settingsClass)) {
      if (source[name] !== undefined) picked[name] = source[name];
    }
    return picked;
  };
  const environment = plainToInstance(Environment, pick(Environment), { exposeDefaultValues: true });
  const problems = describe(validateSync(environment, { skipMissingProperties: false }));
  // Each provider's variables are validated by its own class, then live on the one Environment.
  for (const descriptor of PROVIDER_DESCRIPTORS) {
    const settingsClass: new () => object = descriptor.settings;
    const settings = plainToInstance(settingsClass, pick(settingsClass), { exposeDefaultValues: true });
    problems.push(...describe(validateSync(settings, { skipMissingProperties: false })));
    Object.assign(environment, settings);
  }

  if (environment.NODE_ENV === 'production') {
    if (!environment.DATABASE_URL) {
      problems.push('DATABASE_URL is required when NODE_ENV=production (the embedded database is for local use only)');
    }
    if (!environment.CREDENTIALS_MASTER_KEY) {
      problems.push(
        'CREDENTIALS_MASTER_KEY is required when NODE_ENV=production (generate one with: openssl rand -base64 32)',
      );
    }
  }
  if (environment.HTTP_HEADERS_TIMEOUT_MS > environment.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  problems.push(
    ...parseConcurrencyByProvider('RECONCILE_CONCURRENCY_BY_PROVIDER', environment.RECONCILE_CONCURRENCY_BY_PROVIDER)
      .problems,
    ...parseConcurrencyByProvider('BATCH_CONCURRENCY_BY_PROVIDER', environment.BATCH_CONCURRENCY_BY_PROVIDER).problems,
  );
  // Checked here too (the policy parses it again when built) so a bad range stops the process at boot, listed with the rest.
  problems.push(...parseAllowedDestinations(environment.EVENTS_ALLOWED_DESTINATIONS).problems);
  problems.push(
    ...parseAllowedDestinations(environment.REVOCATION_ALLOWED_DESTINATIONS, 'REVOCATION_ALLOWED_DESTINATIONS')
      .problems,
  );
  if (problems.length > 0) throw new ConfigurationError([...new Set(problems)]);
  return environment;
}

/** `provider=n` pairs, comma-separated, for registered providers only, each n from 1 to 256. */
function parseConcurrencyByProvider(
  name: string,
  value: string | undefined,
): { limits: Map<string, number>; problems: string[] } {
  const limits = new Map<string, number>();
  const problems: string[] = [];
  const known = PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.id as string);
  for (const pair of (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [provider, count, extra] = pair.split('=').map((part) => part.trim());
    const limit = Number(count);
    if (extra !== undefined || !known.includes(provider) || !Number.isInteger(limit) || limit < 1 || limit > 256) {
      problems.push(
        `${name}: "${pair}" must be provider=n with a provider among ${known.join(', ')} and n from 1 to 256`,
      );
      continue;
    }
    limits.set(provider, limit);
  }
  return { limits, problems };
}

/**
 * The per-provider limits of a `provider=n` list (validated at start), parsed once per value:
 * the batch runner asks after every row it sends.
 */
const parsedLimits = new Map<string, Map<string, number>>();
function limitsOf(name: string, value: string | undefined): Map<string, number> {
  const key = `${name}=${value ?? ''}`;
  let limits = parsedLimits.get(key);
  if (!limits) {
    limits = parseConcurrencyByProvider(name, value).limits;
    // Values come from configuration: a handful at most, unless tests set many; never unbounded.
    if (parsedLimits.size >= 64) parsedLimits.clear();
    parsedLimits.set(key, limits);
  }
  return limits;
}

/** How many reconciler checks one replica runs at once against `provider`. */
export function reconcileConcurrencyOf(environment: Environment, provider: string): number {
  return (
    limitsOf('RECONCILE_CONCURRENCY_BY_PROVIDER', environment.RECONCILE_CONCURRENCY_BY_PROVIDER).get(provider) ??
    environment.RECONCILE_CONCURRENCY
  );
}

/** How many batch rows one replica sends at once to `provider`. */
export function batchConcurrencyOf(environment: Environment, provider: string): number {
  return (
    limitsOf('BATCH_CONCURRENCY_BY_PROVIDER', environment.BATCH_CONCURRENCY_BY_PROVIDER).get(provider) ??
    environment.BATCH_CONCURRENCY
  );
}
