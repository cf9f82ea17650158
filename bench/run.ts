/**
 * npm run bench [-- --duration 8 --connections 16] [--warm-up 20] [--backlog 20000] [--payouts 1000000] [--batch-rows 10000]
 *   [--batch-concurrency 8] [--batch-repeats 1] [--profile DIR]
 *
 * Side by side, in one run: a bare keep-alive HTTPS client against the provider simulators
 * ("direct") and the same work through the service ("backend", POST /v1/payouts), on the D24
 * path and on the ConnectPay mTLS path, plus /health latency while four RSA-4096 CSRs are made.
 * Real PostgreSQL (embedded unless DATABASE_URL is set), simulators and API each in their own
 * process. Writes bench/results/latest.json and latest.md.
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../src/config/paths';
import type { SimulatorProcess } from '../src/demo/simulator-process';
import { startSimulatorProcess } from '../src/demo/simulator-process';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { type FloorResult, measureFloor } from './floor';
import { type CatchUpRun, measureCatchUp } from './catch-up';
import { measureListScale } from './list-scale';
import { type BatchRun, measureBatch, rssMb } from './batch';
import { metricsCost, metricUpdates } from './metrics-cost';
import { type PacedRequest, pacedLoad } from './paced';
import { describePauses, type Pauses, pausesBetween } from './pauses';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** `--name VALUE`, or undefined without the option; a missing value is refused, not taken from the next option. */
function textOption(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (!value || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

const DURATION = option('duration', 8);
const CONNECTIONS = option('connections', 16);
/** Payouts in each catch-up backlog (0 skips it). */
const BACKLOG = option('backlog', 20_000);
/** Payouts seeded for the list scenario (0 skips it). */
const LIST_PAYOUTS = option('payouts', 1_000_000);
/** Rows of the batch scenario's CSV (0 skips it). */
const BATCH_ROWS = option('batch-rows', 10_000);
/** BATCH_CONCURRENCY of the API: rows sent at once per provider (the service's default unless given). */
const BATCH_CONCURRENCY = option('batch-concurrency', 8);
/**
 * How many batches the same API process runs (each a new file key, so each sends its rows): the
 * first is the measured one; the API's memory after each answers whether what a batch leaves
 * behind grows with the next (a leak) or is held and reused.
 */
const BATCH_REPEATS = Math.max(1, option('batch-repeats', 1));
/**
 * --latency-log FILE: every fixed-rate request's due time (ISO), time to its end (ms), outcome
 * (ok, non2xx, error), URL and its run's length (the 1 s warm-up before each measured run is
 * `run=1s`), one line each, appended: to line a tail up with the API's GC, PostgreSQL's autovacuum
 * or its checkpoints.
 */
const LATENCY_LOG = textOption('latency-log');
/**
 * BENCH_API_NODE_OPTIONS: extra Node/V8 flags for the API process only, to compare settings side
 * by side (split on spaces: flags with values as --flag=value). Recorded in the results.
 */
const API_NODE_OPTIONS = (process.env.BENCH_API_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
let latencyLog: WriteStream | undefined;

function logLatency(file: string, url: string, seconds: number) {
  // A buffered stream, not a write per answer: the load generator's own stalls would be measured.
  latencyLog ??= createWriteStream(path.resolve(file), { flags: 'a' });
  const log = latencyLog;
  return (dueAt: number, latency: number, outcome: string) =>
    log.write(`${new Date(dueAt).toISOString()} ${latency.toFixed(1)} ${outcome} ${url} run=${seconds}s\n`);
}

/** Before each measured run, the same load for this long, not measured (see counted()). */
const WARM_UP_SECONDS = 1;
/**
 * Before the first measured run, this long of D24 payouts through the API, not measured: V8
 * keeps compiling a fresh process's hot paths for its first tens of seconds (API CPU per D24
 * payout fell by about 40% over its first 30 s at 40 payouts/s), and a service that has been
 * running has done so. `--warm-up 0` measures a cold process.
 */
const SERVICE_WARM_UP_SECONDS = option('warm-up', 20);
/** After a backend run, how long its payouts get to finish their notifications and status fetches. */
const SETTLE_MS = 3_000;

interface Measured {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  handshakes: number;
  requests: number;
  /** Requests answered 2xx: payouts created. */
  ok: number;
  /** Backend runs: the API's CPU time over the run and its settling, in ms. */
  apiCpuMs?: number;
  /** Backend runs: SQL statements the API sent over the run and its settling. */
  statements?: number;
  /** Backend runs: whether the API's peak RSS was restarted at the run's start (see restartPeakRss). */
  peakRssScope?: 'run' | 'process';
  /** Backend runs: the API's GC and event-loop delay over the run and its settling (see pauses.ts). */
  pauses?: Pauses;
}

interface Scenario {
  name: string;
  path: string;
  connections: number;
  durationSeconds: number;
  direct: Measured;
  backend: Measured;
  throughputRatio: number;
  addedLatencyP50Ms: number;
  addedLatencyP99Ms: number;
  handshakesPerRequest: number;
  /** The API's peak RSS during the backend run (from its start), or over its life when `backend.peakRssScope` is 'process'. */
  apiPeakRssMb: number;
  /** API process CPU time (user + system) from the start of the load until its payouts settled, per payout created. */
  apiCpuMsPerPayout: number;
  /** SQL statements the API sent per payout created (the floor's payout: 12, two transactions of BEGIN, 3 or 5 statements, COMMIT). */
  statementsPerPayout: number;
  /** Backend payouts/s over the floor's (same database, same number of clients). */
  floorRatio?: number;
  note?: string;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, {
    ...init,
    headers: { 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} → ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

function startApi(
  dir: string,
  sims: SimulatorProcess,
  keys: { adminKey: string; masterKey: string },
  databaseUrl: string,
): Promise<{ child: ChildProcess; url: string }> {
  // --profile DIR: the API writes a V8 CPU profile there on exit (open it in Chrome DevTools).
  const profileDir = textOption('profile');
  const nodeArgs = [
    // Counts the API's SQL statements (see statement-counter.cjs), for statements per payout.
    '--require',
    path.join(projectRoot(), 'bench', 'statement-counter.cjs'),
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...API_NODE_OPTIONS,
  ];
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot(), 'dist', 'src', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      // The bench owns the database (its embedded one, or DATABASE_URL), so the floor runs on the same.
      DATABASE_URL: databaseUrl,
      DATA_DIR: dir,
      PORT: '0',
      SIMULATORS: 'off',
      LOG_LEVEL: 'info', // the service as it runs; the listening line is an info log
      ADMIN_API_KEY: keys.adminKey,
      // The same for every replica: they open each other's sealed credentials.
      CREDENTIALS_MASTER_KEY: keys.masterKey,
      D24_SIMULATOR_URL: sims.urls.d24,
      CONNECTPAY_SIMULATOR_MTLS_URL: sims.urls.connectpayMtls,
      CONNECTPAY_SIMULATOR_TLS_URL: sims.urls.connectpayOneWay,
      VERESTRO_SIMULATOR_URL: sims.urls.verestro,
      PROVIDER_CA_FILE: sims.serverCaFile,
      DATABASE_POOL_MAX: '20',
      // The lists scenario sends more than RATE_LIMIT_PER_KEY's 10,000 requests per 10 s with one
      // key: the limiter still counts every request, it just never answers 429 to the bench.
      RATE_LIMIT_PER_KEY: '1000000',
      BATCH_CONCURRENCY: String(BATCH_CONCURRENCY),
      BENCH_STATEMENT_COUNT_FILE: statementCountFile(dir),
      // The service's own default unless the bench is run with it set (to compare settings).
      ...(process.env.HEAP_GROWTH_PERCENT ? { HEAP_GROWTH_PERCENT: process.env.HEAP_GROWTH_PERCENT } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // never leave a service behind
      reject(new Error(`the API did not start:\n${output}`));
    }, 60_000);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
      const match = /is listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        output = '';
        resolve({ child, url: match[1] });
      }
    });
    child.once('exit', (code) => reject(new Error(`the API exited (${code}):\n${output}`)));
  });
}

function statementCountFile(dir: string): string {
  return path.join(dir, 'statements');
}

/** How many SQL statements the API has sent so far (it writes the count when signalled). */
async function statementsSent(dir: string, pid: number): Promise<number> {
  const asked = Date.now();
  process.kill(pid, 'SIGUSR2');
  for (let attempt = 0; attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [at, count] = (() => {
      try {
        return readFileSync(statementCountFile(dir), 'utf8').split(' ').map(Number);
      } catch {
        return [0, 0];
      }
    })();
    if (at >= asked) return count;
  }
  throw new Error('the API did not report its statement count');
}

/** How long after a batch completes its memory is read: its notifications and follow-up checks are done by then. */
const MEMORY_SETTLE_MS = 10_000;

interface MemoryAfterBatch {
  completeSeconds: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  oldSpaceUsedMb: number;
  externalMb: number;
}

/** The API's memory a while after a batch: its RSS (from /proc) and V8's own figures (its /metrics). */
async function memoryAfterBatch(
  apiUrl: string,
  pid: number,
  auth: Record<string, string>,
  completeSeconds: number,
): Promise<MemoryAfterBatch> {
  await new Promise((resolve) => setTimeout(resolve, MEMORY_SETTLE_MS));
  const exposition = await (await fetch(`${apiUrl}/metrics`, { headers: auth })).text();
  const mb = (pattern: RegExp) => Math.round(Number(pattern.exec(exposition)?.[1] ?? NaN) / 1024 / 1024);
  return {
    completeSeconds,
    rssMb: rssMb(pid),
    heapUsedMb: mb(/^nodejs_heap_size_used_bytes (\S+)$/m),
    heapTotalMb: mb(/^nodejs_heap_size_total_bytes (\S+)$/m),
    oldSpaceUsedMb: mb(/^nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)$/m),
    externalMb: mb(/^nodejs_external_memory_bytes (\S+)$/m),
  };
}

/** CPU time (user + system) a process has used so far, in ms (from /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat; after the ") " split they are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU time (ms) of a process and all its descendants: PostgreSQL runs a process per connection
 * under its postmaster, and their time is what PostgreSQL costs the machine.
 */
function processTreeCpuMs(rootPid: number): number {
  // One read of each process's stat: its parent (field 4) and its CPU time (fields 14 and 15).
  const processes = new Map<number, { parent: number; cpuMs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      processes.set(Number(entry), {
        parent: Number(fields[1]),
        cpuMs: (Number(fields[11]) + Number(fields[12])) * 10,
      });
    } catch {
      // The process ended while we looked.
    }
  }
  const inTree = (pid: number): boolean => {
    for (
      let current: number | undefined = pid;
      current !== undefined && current > 1;
      current = processes.get(current)?.parent
    )
      if (current === rootPid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, { cpuMs: used }] of processes) if (inTree(pid)) total += used;
  return total;
}

/** The embedded PostgreSQL's postmaster (first line of its postmaster.pid); undefined for DATABASE_URL. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the API's peak resident set (VmHWM) again from what it holds now (Linux: "5" to
 * /proc/PID/clear_refs), so each run reports its own peak rather than the process's lifetime
 * one (the batch's, for every run after it). Memory still held from an earlier run counts: the
 * peak restarts from the current RSS, never below it. False where the kernel refuses; the figure
 * is then the lifetime peak, and the results say so.
 */
function restartPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

/** How a run sends: at most `rate` requests/s overall, over `connections` (the bench's default otherwise). */
interface Pace {
  rate?: number;
  connections?: number;
}

/**
 * A run's load: evenly spaced at `pace.rate` (pacedLoad: open loop, latency from each request's due
 * time), else as fast as `connections` keep-alive connections go (autocannon).
 */
function pacedOrFlatOut(
  pace: Pace,
  seconds: number,
  url: string,
  next: () => PacedRequest,
  ca?: string,
): ReturnType<typeof load> {
  const connections = pace.connections ?? CONNECTIONS;
  if (pace.rate)
    return pacedLoad({
      url,
      ratePerSecond: pace.rate,
      durationSeconds: seconds,
      connections,
      ca,
      next,
      ...(LATENCY_LOG ? { onEnd: logLatency(LATENCY_LOG, url, seconds) } : {}),
    });
  return load({
    duration: seconds,
    url,
    method: 'POST',
    connections,
    ...(ca ? { tlsOptions: { ca } } : {}),
    requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, ...next() }) }],
  });
}

async function load(options: autocannon.Options): Promise<Omit<Measured, 'handshakes' | 'requests'>> {
  const result = await autocannon({ duration: DURATION, connections: CONNECTIONS, ...options });
  return {
    ok: result['2xx'],
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * A run measured after a warm-up of WARM_UP_SECONDS at the same pace, so that connections (pooled
 * TLS sessions on both sides) are in their steady state: what is counted is what a service that has
 * been running pays, not its first second. `afterWarmUp` takes the API's own counters then.
 */
async function counted(
  admin: string,
  server: string,
  run: (seconds: number) => ReturnType<typeof load>,
  afterWarmUp?: () => Promise<void>,
): Promise<Measured> {
  await run(WARM_UP_SECONDS);
  await afterWarmUp?.();
  await fetch(`${admin}/counters/reset`, { method: 'POST' });
  const measured = await run(DURATION);
  const counters = await json<Record<string, { handshakes: number; requests: number }>>(`${admin}/counters`);
  return { ...measured, handshakes: counters[server].handshakes, requests: counters[server].requests };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'payments-bench-'));
  chmodSync(dir, 0o711); // the embedded PostgreSQL runs as 'postgres' when we are root
  const adminKey = 'pbk_bench_' + randomBytes(24).toString('base64url');
  const sims = await startSimulatorProcess({
    portBase: 0,
    stateDir: path.join(dir, 'simulators'),
    log: () => undefined,
  });
  let api: { child: ChildProcess; url: string } | undefined;
  // The bench's own database (DATABASE_URL when set): the API and the floor measure against the same one.
  const database = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: () => Promise.resolve() }
    : await EmbeddedPostgres.start({
        dataDir: path.join(dir, 'postgres'),
        database: 'payments',
        port: 0,
        log: () => undefined,
      });
  try {
    process.stdout.write("measuring the floor (a payout's durable SQL alone) …\n");
    const floor: FloorResult[] = await measureFloor(database.url, CONNECTIONS, DURATION);
    const keys = { adminKey, masterKey: randomBytes(32).toString('base64') };
    api = await startApi(dir, sims, keys, database.url);
    const auth = { Authorization: `Bearer ${adminKey}` };
    const ca = readFileSync(sims.serverCaFile, 'utf8');
    const admin = sims.urls.admin;

    // D24 payouts live their whole life during the run: delivered after 50 ms, completed after
    // 100 ms, each change notified (no retries), so the API's CPU per payout includes its
    // notifications and status fetches. ConnectPay measures the create path alone.
    await json(`${admin}/d24/settings`, {
      method: 'PATCH',
      body: JSON.stringify({
        timeline: { deliverAfterMs: 50, completeAfterMs: 100 },
        notifications: { retryDelaysMs: [] },
      }),
    });
    await json(`${admin}/connectpay/settings`, {
      method: 'PATCH',
      body: JSON.stringify({ timeline: { processAfterMs: 3_600_000, settleAfterMs: 3_600_000 } }),
    });

    // Credentials through the product's own flows.
    const d24Keys = {
      apiKey: 'bench' + randomBytes(6).toString('hex'),
      apiPassphrase: randomBytes(12).toString('hex'),
      apiSignature: randomBytes(24).toString('hex'),
    };
    await json(`${admin}/d24/merchants`, { method: 'PUT', body: JSON.stringify(d24Keys) });
    await json(`${api.url}/v1/credentials/d24/keys`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ environment: 'simulator', ...d24Keys }),
    });
    const chain = await json<{ chainPem: string; privateKeyPem: string }>(`${admin}/connectpay/chains`, {
      method: 'POST',
      body: JSON.stringify({ commonName: 'bench.example.com', register: true }),
    });
    await json(`${api.url}/v1/credentials/connectpay/certificate`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ environment: 'simulator', chainPem: chain.chainPem, privateKeyPem: chain.privateKeyPem }),
    });
    const devApp = await json<{ clientKey: string; clientSecret: string }>(`${admin}/connectpay/devapp`);
    await json(`${api.url}/v1/credentials/connectpay/api-client`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        environment: 'simulator',
        clientKey: devApp.clientKey,
        clientSecret: devApp.clientSecret,
      }),
    });
    const { code } = await json<{ code: string }>(`${admin}/connectpay/auth-codes`, { method: 'POST' });
    await json(`${api.url}/v1/credentials/connectpay/oauth/authorize`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ environment: 'simulator', authCode: code }),
    });

    // The direct client's own ConnectPay token, over its own mTLS connection.
    const { code: directCode } = await json<{ code: string }>(`${admin}/connectpay/auth-codes`, { method: 'POST' });
    const tokenResult = await new Promise<{ access_token: string }>((resolve, reject) => {
      const body = `grant_type=authorization_code&code=${directCode}`;
      const request = httpsRequest(
        `${sims.urls.connectpayMtls}/auth/v1/oauth2/token`,
        {
          method: 'POST',
          ca,
          cert: chain.chainPem,
          key: chain.privateKeyPem,
          headers: {
            Authorization: 'Basic ' + Buffer.from(`${devApp.clientKey}:${devApp.clientSecret}`).toString('base64'),
            'Content-Type': 'application/x-www-form-urlencoded',
            'X-Request-ID': randomUUID(),
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res: IncomingMessage) => {
          // Joined as bytes, then decoded: a character split across two chunks stays whole.
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { access_token: string }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });

    let sequence = 0;
    const beneficiary = {
      type: 'latam_bank_account',
      country: 'BR',
      name: 'Bench',
      documentId: '84932568207',
      bankCode: 1,
      bankAccount: '123456789',
      bankBranch: '0001',
      accountType: 'C',
    };
    /** A D24 create as the direct client sends it: its own external_id, Basic auth and Payload-Signature. */
    const d24DirectRequest = (): PacedRequest => {
      const body = JSON.stringify({
        login: d24Keys.apiKey,
        pass: d24Keys.apiPassphrase,
        external_id: `bench-direct-${sequence++}`,
        country: 'BR',
        currency: 'BRL',
        amount: 1,
        document_id: '84932568207',
        beneficiary_name: 'Bench',
        bank_code: 341,
        bank_account: '123456789',
        notification_url: 'http://127.0.0.1:9/none',
      });
      return {
        method: 'POST',
        body,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'bench-direct',
          Authorization: `Basic ${Buffer.from(`${d24Keys.apiKey}:${d24Keys.apiPassphrase}`).toString('base64')}`,
          'Payload-Signature': createHmac('sha256', d24Keys.apiSignature).update(body).digest('hex'),
        },
      };
    };
    const d24Direct = (pace: Pace = {}) =>
      counted(admin, 'd24', (seconds) =>
        pacedOrFlatOut(pace, seconds, `${sims.urls.d24}/v3/cashout`, d24DirectRequest, ca),
      );
    /** The API's /metrics as text (each scrape also restarts its event-loop delay histogram). */
    const exposition = async () => (await fetch(`${api!.url}/metrics`, { headers: auth })).text();
    // API CPU from the start of the load until its payouts settled (notifications, status fetches).
    const backend = async (provider: 'd24' | 'connectpay', server: string, pace: Pace = {}): Promise<Measured> => {
      const pid = api!.child.pid as number;
      let statementsBefore = 0;
      let before = 0;
      let peakScope: Measured['peakRssScope'] = 'process';
      let metricsAtStart = '';
      const measured = await backendLoad(provider, server, pace, async () => {
        // The scrape first, so its own CPU and SQL (the gauges read at scrape time) are not the run's.
        metricsAtStart = await exposition();
        statementsBefore = await statementsSent(dir, pid);
        before = cpuMs(pid);
        if (restartPeakRss(pid)) peakScope = 'run';
      });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const apiCpuMs = cpuMs(pid) - before;
      const statements = (await statementsSent(dir, pid)) - statementsBefore;
      return {
        ...measured,
        apiCpuMs,
        statements,
        peakRssScope: peakScope,
        pauses: pausesBetween(metricsAtStart, await exposition()),
      };
    };
    /** The backend's load: POST /v1/payouts with a fresh Idempotency-Key per request. */
    const backendRequest = (provider: 'd24' | 'connectpay'): PacedRequest => ({
      method: 'POST',
      body: JSON.stringify(
        provider === 'd24'
          ? { provider, environment: 'simulator', amount: '1.00', currency: 'BRL', beneficiary, reference: 'bench' }
          : {
              provider,
              environment: 'simulator',
              amount: '1.00',
              currency: 'EUR',
              beneficiary: { type: 'iban', name: 'Bench', iban: 'DE89370400440532013000' },
              reference: 'bench',
            },
      ),
      headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    });
    const backendLoad = (
      provider: 'd24' | 'connectpay',
      server: string,
      pace: Pace,
      afterWarmUp: () => Promise<void>,
    ) =>
      counted(
        admin,
        server,
        (seconds) => pacedOrFlatOut(pace, seconds, `${api!.url}/v1/payouts`, () => backendRequest(provider)),
        afterWarmUp,
      );
    const connectpayDirect = () =>
      counted(admin, 'connectpay-mtls', (seconds) =>
        load({
          duration: seconds,
          url: `${sims.urls.connectpayMtls}/ob/payments`,
          method: 'POST',
          tlsOptions: { ca, cert: chain.chainPem, key: chain.privateKeyPem },
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                body: JSON.stringify({
                  paymentRail: 'SEPA_SCT',
                  debtorAccount: { iban: 'LT601010012345678901' },
                  creditorAccount: { iban: 'DE89370400440532013000' },
                  creditorName: 'Bench',
                  instructedAmount: { amount: '1.00', currency: 'EUR' },
                  externalReference: `bench-direct-${sequence++}`,
                }),
                headers: {
                  Authorization: `Bearer ${tokenResult.access_token}`,
                  'Content-Type': 'application/json',
                  'X-Request-ID': randomUUID(),
                },
              }),
            },
          ],
        }),
      );

    const scenarios: Scenario[] = [];
    const compare = (
      name: string,
      pathName: string,
      direct: Measured,
      backendRun: Measured,
      note?: string,
      connections = CONNECTIONS,
    ): Scenario => ({
      name,
      path: pathName,
      connections,
      durationSeconds: DURATION,
      direct,
      backend: backendRun,
      throughputRatio: Math.round((backendRun.requestsPerSecond / Math.max(direct.requestsPerSecond, 1)) * 100) / 100,
      addedLatencyP50Ms: Math.round((backendRun.p50 - direct.p50) * 10) / 10,
      addedLatencyP99Ms: Math.round((backendRun.p99 - direct.p99) * 10) / 10,
      handshakesPerRequest: Math.round((backendRun.handshakes / Math.max(backendRun.requests, 1)) * 10_000) / 10_000,
      apiPeakRssMb: peakRssMb(api!.child.pid as number),
      apiCpuMsPerPayout: Math.round(((backendRun.apiCpuMs ?? 0) / Math.max(backendRun.ok, 1)) * 100) / 100,
      statementsPerPayout: Math.round(((backendRun.statements ?? 0) / Math.max(backendRun.ok, 1)) * 10) / 10,
      ...(note ? { note } : {}),
    });

    if (SERVICE_WARM_UP_SECONDS > 0) {
      process.stdout.write(`warming the API up (${SERVICE_WARM_UP_SECONDS} s of D24 payouts, not measured) …\n`);
      // D24 only: its payouts are final within 100 ms. ConnectPay's stay pending for an hour here,
      // and the reconciler's checks of them would be counted against the D24 runs.
      await pacedOrFlatOut({}, SERVICE_WARM_UP_SECONDS, `${api.url}/v1/payouts`, () => backendRequest('d24'));
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    }
    process.stdout.write('measuring D24 …\n');
    const d24d = await d24Direct();
    const scrape = async () => metricUpdates(await exposition());
    const updatesBefore = await scrape();
    const d24b = await backend('d24', 'd24');
    const metrics = metricsCost({
      updatesDuringRun: (await scrape()) - updatesBefore,
      payouts: d24b.ok,
      apiCpuMsPerPayout: (d24b.apiCpuMs ?? 0) / Math.max(d24b.ok, 1),
    });
    const floorAtConnections = floor[floor.length - 1];
    scenarios.push({
      ...compare('d24-max-rate', 'D24 create cashout', d24d, d24b),
      floorRatio: Math.round((d24b.requestsPerSecond / Math.max(floorAtConnections.payoutsPerSecond, 1)) * 100) / 100,
    });
    const half = Math.max(1, Math.round(d24b.requestsPerSecond / 2));
    process.stdout.write(`measuring D24 at half the backend's max rate (${half}/s) …\n`);
    scenarios.push(
      compare(
        'd24-half-rate',
        'D24 create cashout at a fixed rate',
        await d24Direct({ rate: half }),
        await backend('d24', 'd24', { rate: half }),
        `fixed rate ${half} requests/s for both`,
      ),
    );
    // One at a time: the latency a payout adds with nothing queued in front of it (what the path
    // itself costs), to tell it apart from waiting behind other work in the runs above.
    process.stdout.write('measuring D24 one request at a time …\n');
    scenarios.push(
      compare(
        'd24-one-at-a-time',
        'D24 create cashout, one connection',
        await d24Direct({ connections: 1 }),
        await backend('d24', 'd24', { connections: 1 }),
        'one connection for both: no queueing',
        1,
      ),
    );
    // A 10,000-row CSV batch on the D24 path: time to completed, memory, ledger exactly once, re-upload.
    // Before the ConnectPay run, whose payouts stay pending for an hour here: the reconciler's
    // checks of them (about as many mTLS calls as the batch makes) would run under the batch and
    // be counted against it. After the D24 runs' follow-up checks (WEBHOOK_FETCH_INTERVAL_MS) are done.
    let batch: BatchRun | null = null;
    const memoryAfterBatches: MemoryAfterBatch[] = [];
    if (BATCH_ROWS > 0) {
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      process.stdout.write(`measuring a ${BATCH_ROWS}-row CSV batch …\n`);
      const batchOptions = {
        apiUrl: api.url,
        apiPid: api.child.pid as number,
        auth,
        simulatorAdminUrl: admin,
        rows: BATCH_ROWS,
        concurrencyPerProvider: BATCH_CONCURRENCY,
        cpuMs,
        companionsCpuMs: () => {
          const postgres = process.env.DATABASE_URL ? undefined : postmasterPid(path.join(dir, 'postgres'));
          return {
            simulator: sims.pid ? cpuMs(sims.pid) : 0,
            ...(postgres ? { postgres: processTreeCpuMs(postgres) } : {}),
          };
        },
        progress: (line: string) => process.stdout.write(line),
      };
      batch = await measureBatch(batchOptions);
      memoryAfterBatches.push(await memoryAfterBatch(api.url, api.child.pid as number, auth, batch.completeSeconds));
      for (let repeat = 2; repeat <= BATCH_REPEATS; repeat++) {
        process.stdout.write(`running batch ${repeat} of ${BATCH_REPEATS} in the same API (memory only) …\n`);
        const again = await measureBatch({ ...batchOptions, progress: () => undefined });
        memoryAfterBatches.push(await memoryAfterBatch(api.url, api.child.pid as number, auth, again.completeSeconds));
      }
    }

    process.stdout.write('measuring ConnectPay over mTLS …\n');
    scenarios.push(
      compare(
        'connectpay-max-rate',
        'ConnectPay payment over mTLS',
        await connectpayDirect(),
        await backend('connectpay', 'connectpay-mtls'),
        'direct = one initiate call; backend = paymentrails + initiate + nosca authorisation + status (4 provider calls per payout)',
      ),
    );

    // Catch-up after an outage: one replica, then two sharing the database.
    let catchUp: CatchUpRun[] = [];
    if (BACKLOG > 0) {
      process.stdout.write(`measuring catch-up: ${BACKLOG} payouts due for a check …\n`);
      const backlog = {
        databaseUrl: database.url,
        d24Url: sims.urls.d24,
        ca,
        d24Keys,
        admin,
        payouts: BACKLOG,
        progress: (line: string) => process.stdout.write(line),
      };
      const one = await measureCatchUp(backlog, 1);
      const replicaDir = path.join(dir, 'replica');
      mkdirSync(replicaDir);
      const replica = await startApi(replicaDir, sims, keys, database.url);
      try {
        catchUp = [one, await measureCatchUp(backlog, 2)];
      } finally {
        replica.child.kill('SIGTERM');
      }
    }

    // What a request costs the API before it does any work of its own: the framework's floor per
    // request (routing, security headers, logging with redaction; plus API-key check, rate limit,
    // body parsing and validation for a refused create), to read the per-payout CPU against.
    process.stdout.write("measuring the framework's floor per request …\n");
    const cpuPerRequest = async (options: autocannon.Options): Promise<number> => {
      const pid = api!.child.pid as number;
      const before = cpuMs(pid);
      const measured = await load({ connections: 4, duration: 4, ...options });
      return Math.round(((cpuMs(pid) - before) / Math.max(measured.ok + measured.non2xx, 1)) * 1000) / 1000;
    };
    const framework = {
      healthCpuMsPerRequest: await cpuPerRequest({ url: `${api.url}/health` }),
      refusedCreateCpuMsPerRequest: await cpuPerRequest({
        url: `${api.url}/v1/payouts`,
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'bench-refused' },
        body: JSON.stringify({ provider: 'd24' }),
      }),
    };

    process.stdout.write('measuring /health while four RSA-4096 CSRs are generated …\n');
    const idle = await load({ url: `${api.url}/health`, connections: 4, duration: 4 });
    const csr = (app: string) =>
      json(`${api!.url}/v1/credentials/verestro/csr`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          environment: 'sandbox',
          country: 'PL',
          state: 'Mazowieckie',
          locality: 'Warsaw',
          organization: 'Bench',
          companyName: 'Bench',
          applicationName: app,
          email: 'ops@bench.example',
          keyBits: 4096,
        }),
      });
    const generating = Promise.all(['One', 'Two', 'Three', 'Four'].map(csr));
    const during = await load({ url: `${api.url}/health`, connections: 4, duration: 4 });
    await generating;
    const health = {
      idleP99Ms: idle.p99,
      duringKeyGenerationP99Ms: during.p99,
      ratio: Math.round((during.p99 / Math.max(idle.p99, 1)) * 100) / 100,
    };

    // Last: the rows it seeds would otherwise sit under every scenario above.
    const listScale =
      LIST_PAYOUTS > 0
        ? await measureListScale({
            databaseUrl: database.url,
            apiUrl: api.url,
            auth,
            payouts: LIST_PAYOUTS,
            connections: 4,
            durationSeconds: 4,
            progress: (line) => process.stdout.write(line),
          })
        : null;

    const results = {
      ranAt: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      serviceWarmUpSeconds: SERVICE_WARM_UP_SECONDS,
      ...(API_NODE_OPTIONS.length ? { apiNodeOptions: API_NODE_OPTIONS } : {}),
      floor,
      scenarios,
      catchUp,
      batch,
      memoryAfterBatches,
      framework,
      metrics,
      health,
      listScale,
    };
    const outDir = path.join(projectRoot(), 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
    const rows = scenarios.map(
      (s) =>
        `| ${s.path} | ${s.direct.requestsPerSecond} | ${s.backend.requestsPerSecond} | ${s.throughputRatio} | ${s.floorRatio ?? '–'} | ${s.direct.p50} / ${s.direct.p99} | ${s.backend.p50} / ${s.backend.p99} | ${s.addedLatencyP50Ms} / ${s.addedLatencyP99Ms} | ${s.apiCpuMsPerPayout} | ${s.statementsPerPayout} | ${s.handshakesPerRequest} | ${s.apiPeakRssMb} | ${s.backend.errors + s.backend.non2xx} |`,
    );
    const table = [
      `Benchmark ${results.ranAt} — ${CONNECTIONS} connections, ${DURATION} s per run after ${SERVICE_WARM_UP_SECONDS} s of warm-up, ${results.cpus} CPUs, Node ${results.node}${API_NODE_OPTIONS.length ? `, API started with ${API_NODE_OPTIONS.join(' ')}` : ''}`,
      '',
      '| path | direct req/s | backend req/s | ratio | backend/floor | direct p50/p99 ms | backend p50/p99 ms | added p50/p99 ms | API CPU ms/payout | SQL statements/payout | handshakes/req | API peak RSS MB | backend errors |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      scenarios.every((s) => s.backend.peakRssScope === 'run')
        ? "API peak RSS: each run's own peak (restarted from the RSS the API held when the run began)."
        : "API peak RSS: the API process's peak over its life so far (this kernel refused to restart it per run).",
      `Floor (a payout's two durable commits alone, ${floor[0].tool}, same database): ` +
        floor
          .map(
            (f) =>
              `${f.payoutsPerSecond} payouts/s with ${f.clients} client${f.clients > 1 ? 's' : ''} (${f.meanLatencyMs} ms each)`,
          )
          .join(', ') +
        '.',
      ...catchUp.map(
        (run) =>
          `Catch-up, ${run.replicas} replica${run.replicas > 1 ? 's' : ''}: ${run.payouts} payouts due for a check drained at ${run.payoutsPerSecond} payouts/s (${run.drainSeconds} s from the first check to the last), ${run.extraChecks} checked twice, ${run.left} left.`,
      ),
      ...(batch
        ? [
            `Batch: ${batch.rows} CSV rows (D24, BATCH_CONCURRENCY ${batch.concurrencyPerProvider}) uploaded in ${batch.uploadSeconds} s, completed in ${batch.completeSeconds} s (${batch.rowsPerSecond} rows/s; CPU per row: API ${batch.apiCpuMsPerRow} ms, simulator ${batch.companionCpuMsPerRow.simulator} ms${batch.companionCpuMsPerRow.postgres !== undefined ? `, PostgreSQL ${batch.companionCpuMsPerRow.postgres} ms` : ''}), API RSS peak ${batch.apiPeakRssMb} MB while it ran; ${batch.inLedgerOnce} in the provider's ledger exactly once, ${batch.missing} missing, ${batch.duplicated} twice; the same upload again ${batch.reuploadReplayed ? 'answered the same batch' : 'was NOT answered as a replay'} and ${batch.reuploadSentNothing ? 'sent nothing' : 'SENT PAYOUTS'}.`,
          ]
        : []),
      ...(memoryAfterBatches.length > 1
        ? [
            `The same API after each of ${memoryAfterBatches.length} batches (${MEMORY_SETTLE_MS / 1000} s after it completed): ` +
              memoryAfterBatches
                .map(
                  (m, i) =>
                    `#${i + 1} (${m.completeSeconds} s) RSS ${m.rssMb} MB, V8 heap ${m.heapUsedMb} MB used of ${m.heapTotalMb} MB (old space ${m.oldSpaceUsedMb} MB), external ${m.externalMb} MB`,
                )
                .join('; ') +
              '.',
          ]
        : []),
      `The framework's floor per request (API CPU): ${framework.healthCpuMsPerRequest} ms for GET /health, ${framework.refusedCreateCpuMsPerRequest} ms for a POST /v1/payouts refused by validation (API key, rate limit, body parsing, validation, error answer).`,
      `Metrics (D24 run, /metrics scraped before and after): ${metrics.updatesPerPayout} updates per payout × ${metrics.nanosecondsPerUpdate} ns = ${metrics.microsecondsPerPayout} µs per payout, ${metrics.shareOfApiCpuPercent}% of the API's CPU per payout.`,
      'Pauses in the API during each backend run and its settling (its /metrics; see bench/pauses.ts): ' +
        scenarios
          .filter((s) => s.backend.pauses)
          .map((s) => `${s.path}: ${describePauses(s.backend.pauses!)}`)
          .join('; ') +
        '.',
      `/health p99: ${health.idleP99Ms} ms idle, ${health.duringKeyGenerationP99Ms} ms while four RSA-4096 CSRs are generated (×${health.ratio}).`,
      ...scenarios.filter((s) => s.note).map((s) => `- ${s.path}: ${s.note}`),
      '',
      ...(listScale
        ? [
            `Lists with ${listScale.payouts.toLocaleString('en')} payouts (seeded in ${listScale.seedSeconds} s), GET /v1/payouts, ${listScale.connections} connections, ${listScale.durationSeconds} s each:`,
            '',
            '| query | req/s | p50 ms | p99 ms | errors |',
            '|---|---|---|---|---|',
            ...listScale.queries.map(
              (q) => `| ${q.name} | ${q.requestsPerSecond} | ${q.p50} | ${q.p99} | ${q.non2xx} |`,
            ),
            '',
          ]
        : []),
    ].join('\n');
    writeFileSync(path.join(outDir, 'latest.md'), table);
    process.stdout.write('\n' + table);
  } finally {
    api?.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await sims.stop();
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
