import pino from 'pino';
import type { Environment } from '../../config/environment';
import { CapturedLogs } from '../../../test/support/test-app';
import { loadEnvironment } from '../../config/environment';
import { createBootLogger, httpLoggerOptions, loggerOptions, logDestination, REDACTED } from './logging';

const environment = { LOG_LEVEL: 'info' } as Environment;

/** A real pino logger with the service's options, writing its lines into CapturedLogs. */
function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const logs = new CapturedLogs();
  const options = loggerOptions(environment);
  const log = pino(
    { ...options, serializers: { ...options.serializers, ...httpLoggerOptions(environment).serializers } },
    logs,
  );
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

  it('keeps a request line readable: its authorization header shown as present, never its value', () => {
    const { log, lines } = capture();
    const req = {
      id: 'r1',
      method: 'POST',
      url: '/v1/payouts',
      headers: { 'user-agent': 'test', authorization: 'Bearer secret-8', cookie: 'secret-9' },
    };
    log.child({ req }).info({ res: { statusCode: 201 } }, 'request completed');
    expect(lines()[0].req).toEqual({
      id: 'r1',
      method: 'POST',
      url: '/v1/payouts',
      headers: { 'user-agent': 'test', authorization: REDACTED },
    });
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
    createBootLogger(pretty, logDestination(pretty, output)).info({ apiKey: 'secret-12' }, 'database is up');
    expect(output.text).toMatch(/INFO.*database is up/);
    expect(output.text).toContain(REDACTED);
    expect(output.text).not.toContain('secret-12');
    expect(() => JSON.parse(output.text)).toThrow();
    expect(logDestination(loadEnvironment({ NODE_ENV: 'test', LOG_FORMAT: 'json' }), output)).toBeUndefined();
  });
});
