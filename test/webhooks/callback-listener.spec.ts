import 'reflect-metadata';
import { randomBytes, X509Certificate } from 'node:crypto';
import { createConnection } from 'node:net';
import * as x509 from '@peculiar/x509';
import { Environment } from '../../src/config/environment';
import { EKU_CLIENT_AUTH, KEY_USAGE, usages } from '../../src/credentials/x509/x509';
import { VerestroCallbackServer } from '../../src/providers/verestro/verestro-callbacks.server';
import { WebhooksService } from '../../src/webhooks/webhooks.service';
import type { ClientIdentity } from '../support/callback-client';
import { closedWithin, exchange, head, open, readAnswer, sleep } from '../support/callback-client';
import { opensslCsr, opensslText } from '../support/csr';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * The Verestro callback listener under hostile clients (all holding a certificate our callback
 * CA signed, so they get past TLS): aborted bodies, slow headers, slow bodies, compressed and
 * oversized bodies, malformed HTTP. The process must keep answering (a crash would take this
 * jest worker with it), every answer carries X-Request-ID, every error the project's shape.
 * Then the callback CA's policy, through the real endpoint.
 */
const PATH = '/v1/webhooks/verestro';
const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the Verestro callback listener', () => {
  let t: TestApp;
  let url: string;
  let identity: ClientIdentity;

  const json = (body: string, extra: Record<string, string | number> = {}) =>
    head('POST', PATH, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...extra }) +
    body;

  /** A request that must get a proper answer: the listener is alive and well. */
  async function stillAnswers(): Promise<void> {
    const answer = await exchange(url, identity, json('{"orderId":"still-alive"}'));
    expect([answer.status, JSON.parse(answer.text)]).toEqual([200, { status: 'received' }]);
  }

  async function issue(csrPem: string, environment = 'simulator') {
    return t.http
      .post('/v1/credentials/verestro/callback-certificate')
      .set(bearer(t.adminKey))
      .send({ environment, csrPem });
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        VERESTRO_CALLBACK_PORT: '0',
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        WEBHOOK_BODY_LIMIT_BYTES: '4096',
        HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      },
    });
    url = t.app.get(VerestroCallbackServer).url as string;
    const { csrPem, keyPem } = opensslCsr({ subject: '/CN=Verestro Callbacks Test' });
    const signed = await issue(csrPem);
    expect(signed.status).toBe(201);
    identity = { ca: signed.body.caPem, cert: signed.body.certificatePem, key: keyPem };
  });
  afterAll(() => t.close());

  it('keeps answering after clients abort mid-body (Content-Length 1000, 17 bytes, destroy)', async () => {
    for (let i = 0; i < 10; i++) {
      const socket = await open(url, identity);
      socket.write(
        head('POST', PATH, { 'Content-Type': 'application/json', 'Content-Length': 1000 }) + '{"orderId":"abc",',
      );
      await sleep(20);
      socket.destroy();
    }
    await sleep(100);
    await stillAnswers();
    expect(t.logs.text).toContain('callback connection ended before its body was complete');
  });

  it('closes a connection whose headers never finish, within about the headers timeout', async () => {
    const socket = await open(url, identity);
    const answer = readAnswer(socket, 10_000);
    socket.write('POST /v1/webhooks/verestro HTTP/1.1\r\nHost: local');
    const { status, elapsedMs, headers, text } = await answer;
    expect(elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS * 4);
    expect(elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(status).toBe(408);
    expect(headers['x-request-id']).toMatch(UUID);
    expect(JSON.parse(text).error.code).toBe('REQUEST_TIMEOUT');
    expect(await closedWithin(socket, 1_000)).toBe(true);
    await stillAnswers();
  });

  it('closes a connection that never starts its TLS handshake, within about the headers timeout', async () => {
    const target = new URL(url);
    const started = Date.now();
    const socket = createConnection({ host: target.hostname, port: Number(target.port) });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS * 4);
    await stillAnswers();
  });

  it('answers 408 and closes a connection whose body trickles in slower than the request timeout', async () => {
    const socket = await open(url, identity);
    const answer = readAnswer(socket, 10_000);
    socket.write(head('POST', PATH, { 'Content-Type': 'application/json', 'Content-Length': 200 }));
    const trickle = setInterval(() => !socket.destroyed && socket.write(' '), 100);
    try {
      const { status, elapsedMs, text } = await answer;
      expect(elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS * 3);
      expect(elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(status).toBe(408);
      expect(JSON.parse(text).error.code).toBe('REQUEST_TIMEOUT');
      expect(await closedWithin(socket, 1_000)).toBe(true);
    } finally {
      clearInterval(trickle);
    }
    await stillAnswers();
  });

  it('refuses a compressed body (garbage gzip) with 415 BAD_CONTENT_ENCODING, without decoding it', async () => {
    const garbage = randomBytes(512);
    const answer = await exchange(
      url,
      identity,
      Buffer.concat([
        Buffer.from(
          head('POST', PATH, {
            'Content-Type': 'application/json',
            'Content-Encoding': 'gzip',
            'Content-Length': garbage.length,
          }),
        ),
        garbage,
      ]),
    );
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'BAD_CONTENT_ENCODING',
        message: expect.stringMatching(/without a Content-Encoding/),
        details: { contentEncoding: 'gzip' },
      },
    });
  });

  it('refuses a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const answer = await exchange(
      url,
      identity,
      head('POST', PATH, { 'Content-Type': 'text/plain', 'Content-Length': 2 }) + 'hi',
    );
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.text).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a body over WEBHOOK_BODY_LIMIT_BYTES with 413: at once by Content-Length, and as soon as a chunked body runs past it', async () => {
    const declared = await exchange(
      url,
      identity,
      head('POST', PATH, { 'Content-Type': 'application/json', 'Content-Length': 10_000_000 }),
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 4096 } });
    expect(declared.headers.connection).toBe('close');

    const socket = await open(url, identity);
    const answer = readAnswer(socket, 10_000);
    socket.write(head('POST', PATH, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }));
    let sent = 0;
    const chunk = 'x'.repeat(1024);
    const writer = setInterval(() => {
      if (socket.destroyed || sent > 1_000_000) return;
      socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      sent += chunk.length;
    }, 5);
    try {
      const streamed = await answer;
      expect(streamed.status).toBe(413);
      expect(JSON.parse(streamed.text).error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(sent).toBeLessThan(200_000); // it stopped reading, not waited for the end
    } finally {
      clearInterval(writer);
      socket.destroy();
    }
    await stillAnswers();
  });

  it('answers malformed callbacks 400 MALFORMED_CALLBACK (JSON null, arrays, numbers, NUL) and other routes 404', async () => {
    for (const body of [
      'null',
      '[1]',
      '42',
      '{"orderId":17}',
      '{"orderId":"a\\u0000b"}',
      '{"orderId":""}',
      'not json',
      '',
    ]) {
      const answer = await exchange(url, identity, json(body));
      expect([body, answer.status, JSON.parse(answer.text).error.code]).toEqual([body, 400, 'MALFORMED_CALLBACK']);
    }
    const other = await exchange(url, identity, head('GET', '/v1/webhooks/d24'));
    expect([other.status, JSON.parse(other.text).error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('puts X-Request-ID, Cache-Control: no-store and nosniff on every answer, echoing a sane incoming id', async () => {
    const answers = [
      await exchange(url, identity, json('{"orderId":"x"}', { 'X-Request-ID': 'trace-42.a:b_c' })),
      await exchange(url, identity, json('{"orderId":"x"}', { 'X-Request-ID': 'bad id with spaces' })),
      await exchange(url, identity, json('{}')),
      await exchange(url, identity, json('{"orderId":')), // not JSON: MALFORMED_CALLBACK, this listener's MALFORMED_JSON
      await exchange(url, identity, head('DELETE', '/')),
      await exchange(url, identity, 'GARBAGE\r\n\r\n'), // not HTTP: answered by the clientError handler
      await exchange(url, identity, head('POST', PATH, { 'Content-Length': 'abc' })),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 400, 404, 400, 400]);
    expect(answers[0].headers['x-request-id']).toBe('trace-42.a:b_c');
    for (const answer of answers.slice(1)) expect(answer.headers['x-request-id']).toMatch(UUID);
    for (const answer of answers) {
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(answer.text);
      if (answer.status >= 400) expect(Object.keys(body.error)).toEqual(['code', 'message', 'details']);
    }
  });

  it('answers 500 INTERNAL with the request id and no detail when processing fails unexpectedly, logs it, and keeps serving', async () => {
    const spy = jest
      .spyOn(t.app.get(WebhooksService), 'process')
      .mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    try {
      const answer = await exchange(
        url,
        identity,
        json('{"orderId":"boom","secret":"do-not-log-me"}', { 'X-Request-ID': 'boom-1' }),
      );
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.text)).toEqual({
        error: {
          code: 'INTERNAL',
          message: 'An unexpected error occurred. Retry later; if it keeps happening, report request id boom-1.',
          details: null,
        },
      });
      const logged = t.logs.parsed().find((line) => line.msg === 'callback handling failed');
      expect(logged).toMatchObject({
        level: 'error',
        requestId: 'boom-1',
        error: { type: 'Error', message: 'Connection terminated unexpectedly' },
      });
      expect(t.logs.text).not.toContain('do-not-log-me');
    } finally {
      spy.mockRestore();
    }
    await stillAnswers();
  });

  it('drops connections over HTTP_MAX_CONNECTIONS and serves again once they close', async () => {
    const attempts = await Promise.allSettled(Array.from({ length: MAX_CONNECTIONS + 1 }, () => open(url, identity)));
    const opened = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
    try {
      expect(opened.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
      expect(t.logs.text).toContain('HTTP_MAX_CONNECTIONS reached');
    } finally {
      for (const socket of opened) socket.destroy();
    }
    await sleep(100);
    await stillAnswers();
  });

  it('serves several requests on one keep-alive connection', async () => {
    const socket = await open(url, identity);
    try {
      for (let i = 0; i < 3; i++) {
        const answer = readAnswer(socket);
        socket.write(json(`{"orderId":"keep-${i}"}`));
        expect((await answer).status).toBe(200);
      }
    } finally {
      socket.destroy();
    }
  });

  describe('the callback CA policy (POST /v1/credentials/verestro/callback-certificate)', () => {
    const callbackCas = async (environment: string): Promise<number> =>
      (
        await t.dataSource.query(
          `SELECT count(*)::int AS n FROM credentials WHERE provider = 'verestro' AND environment = $1 AND kind = 'callback_ca'`,
          [environment],
        )
      )[0].n;
    const issued = async (): Promise<number> =>
      (
        await t.dataSource.query(
          `SELECT count(*)::int AS n FROM credential_events WHERE type = 'callback_certificate_issued'`,
        )
      )[0].n;

    it('refuses an RSA-1024 CSR with 422 and field problems, issuing nothing and creating no CA', async () => {
      expect(await callbackCas('beta')).toBe(0);
      const before = await issued();
      const response = await issue(opensslCsr({ subject: '/CN=weak', key: 'rsa:1024' }).csrPem, 'beta');
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('CSR_REJECTED');
      expect(response.body.error.details).toEqual([
        { field: 'csrPem.publicKey', code: 'KEY_TOO_SHORT', message: expect.stringContaining('RSA-1024') },
      ]);
      expect(response.body.error.message).toMatch(/^The callback CSR cannot be signed: csrPem\.publicKey: is RSA-1024/);
      expect(await callbackCas('beta')).toBe(0);
      expect(await issued()).toBe(before);
    });

    it.each([
      ['two CNs', '/CN=a/CN=b', 'csrPem.subject.CN', 'CN_REPEATED'],
      ['a comma in a value', '/O=Verestro\\, S.A./CN=cb', 'csrPem.subject.O', 'COMMA_NOT_ALLOWED'],
      [
        'a disallowed attribute',
        '/CN=cb/emailAddress=ops@verestro.example',
        'csrPem.subject',
        'SUBJECT_ATTRIBUTE_NOT_ALLOWED',
      ],
      ['a wildcard', '/CN=*.verestro.example', 'csrPem.subject.CN', 'WILDCARD_NOT_ALLOWED'],
    ])('refuses a CSR with %s', async (_name, subject, field, code) => {
      const response = await issue(opensslCsr({ subject }).csrPem);
      expect(response.status).toBe(422);
      expect(response.body.error.details).toContainEqual({ field, code, message: expect.any(String) });
    });

    it('refuses what is not a CSR (an altered one: see the unit suite)', async () => {
      const garbage = await issue('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n');
      expect([garbage.status, garbage.body.error.details[0].code]).toEqual([422, 'NOT_A_VALID_CSR']);
    });

    it('accepts an EC P-256 CSR; the certificate is CA:false, clientAuth only, and gets into the listener', async () => {
      const { csrPem, keyPem } = opensslCsr({
        subject: '/C=PL/O=Verestro/CN=V-Callbacks-EC',
        key: 'ec:P-256',
        addext: ['basicConstraints=critical,CA:TRUE', 'subjectAltName=DNS:bank.example'],
      });
      const response = await issue(csrPem);
      expect(response.status).toBe(201);
      const certificate = new X509Certificate(response.body.certificatePem);
      expect(usages(certificate)).toEqual({
        isCa: false,
        keyUsage: KEY_USAGE.digitalSignature,
        extendedKeyUsage: [EKU_CLIENT_AUTH],
      });
      expect(certificate.subjectAltName).toBeUndefined();
      expect(opensslText(response.body.certificatePem)).toContain('CA:FALSE');
      expect(certificate.checkIssued(new X509Certificate(response.body.caPem))).toBe(true);
      const answer = await exchange(
        url,
        { ca: response.body.caPem, cert: response.body.certificatePem, key: keyPem },
        json('{"orderId":"from-ec"}'),
      );
      expect(answer.status).toBe(200);
    });

    it('the RSA certificate used above is CA:false with clientAuth and digitalSignature + keyEncipherment', () => {
      const certificate = new X509Certificate(identity.cert);
      expect(usages(certificate)).toEqual({
        isCa: false,
        keyUsage: KEY_USAGE.digitalSignature | KEY_USAGE.keyEncipherment,
        extendedKeyUsage: [EKU_CLIENT_AUTH],
      });
      expect(new x509.X509Certificate(identity.cert).getExtension(x509.BasicConstraintsExtension)?.critical).toBe(true);
    });

    it('enforces VERESTRO_CALLBACK_CSR_CN when set', async () => {
      const environment = t.app.get(Environment);
      environment.VERESTRO_CALLBACK_CSR_CN = 'V-Callbacks,V-Callbacks-2';
      try {
        const refused = await issue(opensslCsr({ subject: '/CN=Somebody Else', key: 'ec:P-256' }).csrPem);
        expect(refused.status).toBe(422);
        expect(refused.body.error.details).toEqual([
          {
            field: 'csrPem.subject.CN',
            code: 'CN_NOT_ALLOWED',
            message: expect.stringContaining('VERESTRO_CALLBACK_CSR_CN'),
          },
        ]);
        expect((await issue(opensslCsr({ subject: '/CN=V-Callbacks-2', key: 'ec:P-256' }).csrPem)).status).toBe(201);
      } finally {
        environment.VERESTRO_CALLBACK_CSR_CN = undefined;
      }
    });
  });
});
