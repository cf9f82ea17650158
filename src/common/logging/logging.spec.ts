import pino from 'pino';
import type { Environment } from '../../config/environment';
import { CapturedLogs } from '../../../test/support/test-app';
import { loadEnvironment } from '../../config/environment';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, loggerOptions, logDestination, REDACTED } from './logging';
import { AppLogger, logRequests } from './request-logging';
import { bindRequestScope } from './request-scope';

const environment = { LOG_LEVEL: 'info' } as Environment;

/** A real pino logger with the service's options, writing its lines into CapturedLogs. */
function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const logs = new CapturedLogs();
  const log = pino(loggerOptions(environment), logs);
  return { log, text: () => logs.text, lines: () => logs.parsed() };
}

describe('log redaction', () => {
  it('replaces sensitive fields at any depth and in any letter case, inside arrays too', () => {
    const { log, lines, text } = capture();
    log.info(
      {
        token: 'secret-1',
        nested: { a: { b: { c: { d: { Password: 'secret-2', list: [{ apiKey: 'secret-3' }] } } } } },
      },
      'deep',
    );
    const [line] = lines();
    expect(line.token).toBe(REDACTED);
    expect(line).toMatchObject({
      nested: { a: { b: { c: { d: { Password: REDACTED, list: [{ apiKey: REDACTED }] } } } } },
    });
    expect(text()).not.toMatch(/secret-\d/);
  });

  it("redacts an error's own fields after pino serializes it, and keeps its message", () => {
    const { log, lines, text } = capture();
    const error = Object.assign(new Error('provider refused'), {
      config: { headers: { Authorization: 'Basic secret-4', 'X-Api-Key': 'secret-5' } },
    });
    log.error({ err: error }, 'failed');
    expect(lines()[0]).toMatchObject({
      err: { type: 'Error', message: 'provider refused', config: { headers: { Authorization: REDACTED } } },
    });
    expect(text()).not.toMatch(/secret-\d/);
  });

  it("redacts a child logger's sensitive bindings", () => {
    const { log, text } = capture();
    log.child({ secret: 'secret-6', Authorization: 'secret-7', component: 'payouts' }).info('bound');
    expect(text()).toContain('"secret":"[REDACTED]"');
    expect(text()).toContain('"component":"payouts"');
    expect(text()).not.toMatch(/secret-\d/);
  });

  it('redacts req and res fields logged outside a request (no HTTP serializer there)', () => {
    const logs = new CapturedLogs();
    pino(loggerOptions(environment), logs).info(
      { req: { headers: { authorization: 'secret-10' } }, res: { headers: { 'set-cookie': 'secret-11' } } },
      'outside a request',
    );
    expect(logs.text).toContain(REDACTED);
    expect(logs.text).not.toMatch(/secret-\d/);
  });

  it('stops at a depth no logged object reaches, so a cycle cannot hang a log call', () => {
    const { log, text } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    log.info({ cyclic }, 'cycle');
    expect(text()).toContain('[TOO DEEP]');
  });

  it('writes readable lines with LOG_FORMAT pretty, redacted like the JSON ones', () => {
    const output = new CapturedLogs();
    const pretty = loadEnvironment({ NODE_ENV: 'test', LOG_FORMAT: 'pretty' });
    createLogger(pretty, logDestination(pretty, output)).info({ apiKey: 'secret-12' }, 'database is up');
    expect(output.text).toMatch(/INFO.*database is up/);
    expect(output.text).toContain(REDACTED);
    expect(output.text).not.toContain('secret-12');
    expect(() => JSON.parse(output.text)).toThrow();
    expect(logDestination(loadEnvironment({ NODE_ENV: 'test', LOG_FORMAT: 'json' }), output)).toBeUndefined();
  });
});

describe('request lines', () => {
  let server: Server;
  let url: string;
  let captured: ReturnType<typeof capture>;

  beforeEach(async () => {
    captured = capture();
    const access = logRequests(captured.log, (path) => path.startsWith('/health'));
    const app = new AppLogger(captured.log);
    // The real middlewares on a real server: the id as assignRequestId sets it, then the access
    // line, the request's scope, and a handler that logs through Nest's LoggerService.
    server = createServer((request, response) => {
      Object.assign(request, { id: 'r1' });
      access(request, response, () =>
        bindRequestScope(request, response, () => {
          setImmediate(() => {
            app.warn({ payoutId: 'p1', apiKey: 'secret-13' }, 'inside the request', 'Payouts');
            if (request.url === '/boom') {
              response.statusCode = 500;
              response.end('{}');
            } else if (request.url === '/hang') {
              response.write('{');
            } else {
              response.statusCode = request.url === '/refused' ? 422 : 201;
              response.end('{}');
            }
          });
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const settled = async (count: number) => {
    for (let attempt = 0; attempt < 100 && captured.lines().length < count; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    return captured.lines();
  };

  it('writes one line per request: method, path, status, time, and whether a key was sent, never the key', async () => {
    await fetch(`${url}/v1/payouts?limit=1`, {
      method: 'POST',
      headers: { Authorization: 'Bearer secret-8', Cookie: 'secret-9', 'User-Agent': 'test' },
    });
    const [inside, access] = await settled(2);
    expect(access).toMatchObject({
      level: 'info',
      msg: 'request completed',
      req: {
        id: 'r1',
        method: 'POST',
        url: '/v1/payouts?limit=1',
        remoteAddress: '127.0.0.1',
        headers: { 'user-agent': 'test', authorization: REDACTED },
      },
      res: { statusCode: 201 },
    });
    expect(typeof access.responseTime).toBe('number');
    // The service's own line inside the request names it, with its context, redacted.
    expect(inside).toMatchObject({
      level: 'warn',
      msg: 'inside the request',
      context: 'Payouts',
      payoutId: 'p1',
      apiKey: REDACTED,
      req: { id: 'r1', method: 'POST', url: '/v1/payouts?limit=1' },
    });
    expect(captured.text()).not.toMatch(/secret-\d/);
  });

  it('says when no key was sent, warns on 4xx, errs on 5xx, and skips health probes', async () => {
    await fetch(`${url}/refused`);
    await fetch(`${url}/boom`);
    await fetch(`${url}/health`);
    const access = (await settled(5)).filter((line) => line.res);
    expect(access.map((line) => [line.level, line.msg, (line.res as { statusCode: number }).statusCode])).toEqual([
      ['warn', 'request completed', 422],
      ['error', 'request errored', 500],
    ]);
    expect((access[0].req as { headers: object }).headers).toEqual({ 'user-agent': 'node' });
  });

  it('writes a line for a request whose client went away before the answer', async () => {
    const controller = new AbortController();
    const answer = fetch(`${url}/hang`, { signal: controller.signal }).then((response) =>
      response.body?.getReader().read(),
    );
    await settled(1);
    controller.abort();
    await answer.catch(() => undefined);
    const access = (await settled(2)).find((line) => line.res);
    expect(access).toMatchObject({ level: 'warn', msg: 'request aborted', req: { url: '/hang' } });
  });

  it("outside a request, Nest's lines carry no request; an Error becomes err, a stack trace call too", () => {
    const app = new AppLogger(captured.log);
    app.log('started', 'Main');
    app.error(new Error('broken'), 'Main');
    app.error('handler failed', 'Error: handler failed\n    at handler (file.js:1:1)', 'ExceptionsHandler');
    app.debug('below the level', 'Main');
    const [started, error, stack] = captured.lines();
    expect(started).toEqual(expect.objectContaining({ level: 'info', msg: 'started', context: 'Main' }));
    expect(started.req).toBeUndefined();
    expect(error).toMatchObject({ level: 'error', context: 'Main', err: { type: 'Error', message: 'broken' } });
    expect(stack).toMatchObject({ context: 'ExceptionsHandler', err: { message: 'handler failed' } });
    expect(captured.lines()).toHaveLength(3);
  });
});
