import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import { brazilianAccount } from '../support/beneficiaries';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/sim-client';
import { randomAdminKey } from '../support/test-app';

/** A span as OTLP/HTTP JSON carries it (ids hex-encoded), with its attributes flattened. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpExport {
  resourceSpans?: Array<{
    scopeSpans?: Array<{
      spans?: Array<
        Omit<ReceivedSpan, 'attributes'> & { attributes?: Array<{ key: string; value: Record<string, unknown> }> }
      >;
    }>;
  }>;
}

/**
 * Tracing end to end: the compiled service (as `npm start` runs it, simulators included) with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver in this test. A payout must give
 * one trace holding its HTTP server span, its SQL spans and its provider call span, and the log
 * lines written inside it must name it.
 */
describe('OpenTelemetry tracing', () => {
  const spans: ReceivedSpan[] = [];
  let receiver: Server;
  let database: TestDatabase;
  let child: ChildProcessWithoutNullStreams | undefined;
  let dataDir: string;
  let output = '';

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/v1/traces') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
          for (const resource of body.resourceSpans ?? [])
            for (const scope of resource.scopeSpans ?? [])
              for (const span of scope.spans ?? [])
                spans.push({
                  ...span,
                  attributes: Object.fromEntries(
                    (span.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]]),
                  ),
                });
        }
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'pb-tracing-'));
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => receiver.close(resolve));
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a payout gives one trace with its HTTP, database and provider call spans; its log lines name it', async () => {
    const adminKey = randomAdminKey();
    const { port } = receiver.address() as AddressInfo;
    const started = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'main.js')], {
      cwd: projectRoot(),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        PORT: '0',
        SIMULATORS_PORT_BASE: '0',
        ADMIN_API_KEY: adminKey,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        // Export every 100 ms instead of every 5 s.
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    child = started;
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await eventually(
      async () => /is listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1],
      (found) => found !== undefined || started.exitCode !== null,
      40_000,
    );
    if (!url) throw new Error(`the service did not start:\n${output}`);

    const beneficiary = brazilianAccount({ bankAccount: '5566778899' });
    const created = await fetch(`${url}/v1/payouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${adminKey}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify({
        provider: 'd24',
        environment: 'simulator',
        amount: '15.00',
        currency: 'BRL',
        reference: 'traced payout',
        beneficiary,
      }),
    });
    expect(created.status).toBe(201);

    const server = await eventually(
      async () => spans.find((span) => span.kind === 2 && span.attributes['http.route'] === '/v1/payouts'),
      (found) => found !== undefined,
      10_000,
    );
    const traceId = server?.traceId as string;
    const inTrace = await eventually(
      async () => spans.filter((span) => span.traceId === traceId),
      (found) =>
        found.some((span) => span.name === 'provider d24 create') &&
        found.some(
          (span) => span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql',
        ),
      10_000,
    );
    const provider = inTrace.find((span) => span.name === 'provider d24 create');
    expect(provider?.attributes).toEqual({
      'payments.provider': 'd24',
      'payments.environment': 'simulator',
      'payments.operation': 'create',
      'http.request.method': 'POST',
      'http.response.status_code': expect.any(Number),
    });
    const sql = inTrace.filter(
      (span) => span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql',
    );
    expect(sql.length).toBeGreaterThan(0);

    // Nothing secret or personal in any span: the key, the account, the document.
    const everything = JSON.stringify(spans);
    for (const secret of [adminKey, String(beneficiary.bankAccount), String(beneficiary.documentId)])
      expect(everything.includes(secret)).toBe(false);
    // The provider call is its own span only: no span of the HTTP client under it with its URL.
    expect(everything.includes('/v3/cashout')).toBe(false);

    // The provider call's log line names its trace and span.
    expect(output).toContain(`"trace_id":"${traceId}"`);
    expect(output).toMatch(
      new RegExp(`"trace_id":"${traceId}","span_id":"${provider?.spanId}"[^\\n]*"msg":"provider call"`),
    );
  });
});
