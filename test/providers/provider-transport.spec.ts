import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CredentialedHttp, type OutboundRequest } from '../../src/providers/http/credentialed-http';
import { createRootAuthority, issueServerCertificate } from '../../src/simulators/kit/pki';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The provider client's transport against hosts that misbehave below the provider protocol, each
 * a real listener on loopback: D24's three environments are pointed at them through
 * configuration, as an operator would point them at a provider.
 *   simulator: trusted certificate; answers as each test's path asks
 *   stg: accepts TCP and never starts TLS
 *   prod: a certificate from an authority we do not trust
 * and ConnectPay's one-way simulator host at one that cuts the first request it reads, then stops
 * listening (its retry is refused).
 */
describe('provider transport', () => {
  let app: TestApp;
  let http: CredentialedHttp;
  let dir: string;
  let trusted: HttpsServer;
  let silent: Server;
  let untrusted: HttpsServer;
  let cutThenGone: HttpsServer;
  let cutThenGoneUrl: string;
  const silentSockets = new Set<Socket>();
  const received: Array<{ path: string; body: Buffer; headers: Record<string, unknown> }> = [];

  const listen = async <T extends Server | HttpsServer>(server: T): Promise<string> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pbt-transport-'));
    const ours = await createRootAuthority('CN=Transport Test CA');
    const theirs = await createRootAuthority('CN=Someone Else CA');
    const ourLeaf = await issueServerCertificate(ours, 'transport test');
    const theirLeaf = await issueServerCertificate(theirs, 'transport test');
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, ours.certificatePem);

    trusted = createHttpsServer({ key: ourLeaf.privateKeyPem, cert: ourLeaf.certificatePem }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body: Buffer.concat(chunks), headers: request.headers });
        if (request.url === '/huge') {
          // 5 MiB without a Content-Length: only counting what arrives can stop it.
          response.writeHead(200, { 'Content-Type': 'application/json' });
          const megabyte = Buffer.alloc(1024 * 1024, 0x20);
          for (let i = 0; i < 5; i++) response.write(megabyte);
          response.end();
        } else if (request.url === '/drip') {
          // Headers at once, then a byte every 50 ms, for ever: never a whole answer.
          response.writeHead(200, { 'Content-Type': 'application/json' });
          const drip = setInterval(() => response.write(' '), 50);
          response.on('close', () => clearInterval(drip));
        } else {
          response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
        }
      });
    });
    silent = createTcpServer((socket) => {
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
    });
    untrusted = createHttpsServer(
      { key: theirLeaf.privateKeyPem, cert: theirLeaf.certificatePem },
      (_request, response) => response.end('{}'),
    );
    // The first request is read whole (it may have been acted on), then its connection is cut and
    // the host stops listening: the retry is refused before anything is sent.
    cutThenGone = createHttpsServer({ key: ourLeaf.privateKeyPem, cert: ourLeaf.certificatePem }, (request) => {
      request.resume();
      request.on('end', () => {
        cutThenGone.close();
        request.socket.destroy();
      });
    });
    cutThenGoneUrl = await listen(cutThenGone);
    app = await startTestApp({
      env: {
        D24_SIMULATOR_URL: await listen(trusted),
        D24_STG_URL: await listen(silent),
        D24_PROD_URL: await listen(untrusted),
        CONNECTPAY_SIMULATOR_TLS_URL: cutThenGoneUrl,
        PROVIDER_CA_FILE: caFile,
        // Room for a loopback handshake on a loaded CI machine; the connect deadline must come
        // first, or a host that never finishes TLS is reported by the answer's deadline instead.
        PROVIDER_CONNECT_TIMEOUT_MS: '1000',
        PROVIDER_RESPONSE_TIMEOUT_MS: '2000',
      },
    });
    http = app.app.get(CredentialedHttp);
  });

  afterAll(async () => {
    await app?.close();
    for (const socket of silentSockets) socket.destroy();
    trusted?.closeAllConnections();
    await Promise.all(
      [trusted, silent, untrusted, cutThenGone].map(
        (server) => new Promise((resolve) => (server ? server.close(() => resolve(undefined)) : resolve(undefined))),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (environment: OutboundRequest['environment'], requestPath: string, body = '{"id":"é"}') =>
    http.request({
      provider: 'd24',
      environment,
      family: 'tls',
      operation: 'create',
      method: 'POST',
      path: requestPath,
      headers: { 'Content-Type': 'application/json' },
      body,
      idempotent: false,
    });

  it('sends the body byte for byte and reads the answer', async () => {
    const answer = await call('simulator', '/ok', '{"amount":"10.00","name":"José"}');
    expect([answer.status, answer.body.toString()]).toEqual([200, '{"ok":true}']);
    const seen = received.find((entry) => entry.path === '/ok');
    expect(seen?.body.toString('utf8')).toBe('{"amount":"10.00","name":"José"}');
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength('{"amount":"10.00","name":"José"}')));
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.headers['user-agent']).toMatch(/^payments-backend\/\d+\.\d+\.\d+/);
  });

  it('stops reading an answer past 4 MiB: PROVIDER_PROTOCOL_ERROR, the outcome of the write unknown', async () => {
    await expect(call('simulator', '/huge')).rejects.toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: true,
    });
  });

  it('gives up on an answer that never ends within the response deadline: PROVIDER_TIMEOUT, outcome unknown', async () => {
    await expect(call('simulator', '/drip')).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      outcomeUnknown: true,
      message: 'd24 simulator (create) did not answer in time.',
    });
  });

  it('a host that never finishes the handshake: PROVIDER_TIMEOUT, and nothing was sent', async () => {
    await expect(call('stg', '/never')).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      outcomeUnknown: false,
      message: 'd24 stg (create) did not accept the connection in time.',
    });
  });

  it('a server certificate we do not trust: PROVIDER_AUTH_FAILED, and nothing was sent', async () => {
    const error: unknown = await call('prod', '/untrusted').catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'PROVIDER_AUTH_FAILED', outcomeUnknown: false });
    expect((error as Error).message).toMatch(
      /^The TLS handshake with d24 prod \(create\) failed \(.+\); check the certificates\.$/,
    );
  });

  it('a retry refused before it was sent leaves the outcome of a write that may have landed unknown', async () => {
    const error = await http
      .request({
        provider: 'connectpay',
        environment: 'simulator',
        family: 'tls',
        operation: 'initiate',
        method: 'POST',
        path: '/payments',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
        // Retried once: the provider would deduplicate it.
        idempotent: true,
      })
      .catch((failure: unknown) => failure);
    // The retry met a refused connection (known not sent); the first attempt was cut after it was read.
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', outcomeUnknown: true });
    expect((error as Error).message).toContain('could not be reached (ECONNREFUSED)');
  });
});
