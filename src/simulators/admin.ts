import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fieldText } from './kit/http-server';
import { issueClientCertificate } from './kit/pki';
import type { RunningSimulators } from './simulators';
import type { VerestroSigningEnvironment } from './verestro/csr-policy';

type Body = Record<string, unknown>;
type Handler = (body: Body, match: RegExpExecArray) => Promise<[number, unknown]> | [number, unknown];

/**
 * The simulators' admin API (plain HTTP, loopback only): ledgers, counters, fault injection,
 * and the out-of-band steps a real provider does by hand (signing a CSR, registering a chain,
 * issuing an auth code, configuring webhooks).
 */
export class AdminServer {
  private server: Server | undefined;
  private readonly routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];

  constructor(sims: RunningSimulators) {
    const { d24, connectpay, verestro } = sims;
    const serverOf = (name: string) => sims.servers[name];
    const saved = <T>(result: T): T => {
      sims.persist();
      return result;
    };

    this.on('GET', /^\/health$/, () => [200, { status: 'ok' }]);
    this.on('GET', /^\/simulators$/, () => [
      200,
      { urls: sims.urls, ports: sims.ports, serverCaPem: sims.serverCaPem },
    ]);
    this.on('GET', /^\/counters$/, () => [
      200,
      Object.fromEntries(
        Object.entries(sims.servers).map(([name, server]) => [
          name,
          { ...server.counters, faults: server.faults.snapshot().injected },
        ]),
      ),
    ]);
    this.on('POST', /^\/counters\/reset$/, () => {
      for (const server of Object.values(sims.servers))
        Object.assign(server.counters, { handshakes: 0, requests: 0, responses: {} });
      return [204, null];
    });
    this.on('PUT', /^\/([a-z0-9-]+)\/faults$/, (body, match) => {
      const server = serverOf(match[1]);
      if (!server) return [404, { error: `no simulator ${match[1]}` }];
      server.faults.set(fieldText(body.route ?? '*'), body.settings ?? {});
      return [200, server.faults.snapshot()];
    });
    this.on('PUT', /^\/([a-z0-9-]+)\/clock$/, (body, match) => {
      const server = serverOf(match[1]);
      if (!server) return [404, { error: `no simulator ${match[1]}` }];
      const offset = Number(body.offsetSeconds ?? 0);
      if (!Number.isFinite(offset)) return [400, { error: 'offsetSeconds must be a number' }];
      server.clockOffsetSeconds = offset;
      return [200, { offsetSeconds: offset }];
    });
    this.on('DELETE', /^\/([a-z0-9-]+)\/faults$/, (_body, match) => {
      const server = serverOf(match[1]);
      if (!server) return [404, { error: `no simulator ${match[1]}` }];
      server.faults.reset();
      return [200, server.faults.snapshot()];
    });

    // D24
    this.on('GET', /^\/d24\/ledger$/, () => [200, d24.ledger]);
    this.on('GET', /^\/d24\/balances$/, () => [200, d24.balances()]);
    this.on('GET', /^\/d24\/notifications$/, () => [200, d24.notifier.log]);
    this.on('PUT', /^\/d24\/merchants$/, (body) => {
      const merchant = body as unknown as {
        apiKey: string;
        apiPassphrase: string;
        apiSignature: string;
        readOnlyKey?: string;
      };
      if (!merchant.apiKey || !merchant.apiPassphrase || !merchant.apiSignature)
        return [400, { error: 'apiKey, apiPassphrase and apiSignature are required' }];
      d24.settings.merchants = [...d24.settings.merchants.filter((m) => m.apiKey !== merchant.apiKey), merchant];
      return saved([200, { registered: merchant.apiKey }]);
    });
    this.on('PATCH', /^\/d24\/settings$/, (body) => {
      const { allowedIps, balances, timeline, notifications, controlAffixes, ignoreOnHoldAtCreate } = body as Partial<
        typeof d24.settings
      >;
      if (typeof ignoreOnHoldAtCreate === 'boolean') d24.settings.ignoreOnHoldAtCreate = ignoreOnHoldAtCreate;
      if (allowedIps) d24.settings.allowedIps = allowedIps;
      if (balances) d24.setBalances(balances);
      if (timeline) Object.assign(d24.settings.timeline, timeline);
      if (notifications) Object.assign(d24.settings.notifications, notifications);
      if (controlAffixes) Object.assign(d24.settings.controlAffixes, controlAffixes);
      return saved([200, { ...d24.settings, merchants: d24.settings.merchants.map((m) => m.apiKey) }]);
    });

    // ConnectPay
    this.on('GET', /^\/connectpay\/ledger$/, () => [200, connectpay.ledger]);
    this.on('GET', /^\/connectpay\/webhooks$/, () => [200, connectpay.webhooks.log]);
    this.on('GET', /^\/connectpay\/devapp$/, () => [
      200,
      { ...connectpay.settings.devApp, registeredCertificates: connectpay.settings.registeredCertificates },
    ]);
    this.on('POST', /^\/connectpay\/chains$/, async (body) => {
      const commonName = fieldText(body.commonName ?? 'payouts.example.com');
      const leaf = await issueClientCertificate(
        sims.connectpayPublicCa.intermediate,
        `CN=${commonName},O=Example Payments,C=LT`,
        Number(body.days ?? 365),
      );
      const chainPem =
        leaf.certificatePem +
        sims.connectpayPublicCa.intermediate.certificatePem +
        sims.connectpayPublicCa.root.certificatePem;
      const registration = body.register === true ? saved(connectpay.registerChain(chainPem)) : null;
      return [
        201,
        {
          chainPem,
          privateKeyPem: leaf.privateKeyPem,
          serialNumber: leaf.serialNumber,
          registered: registration !== null,
        },
      ];
    });
    this.on('POST', /^\/connectpay\/devapp\/certificates$/, (body) => {
      if (typeof body.chainPem !== 'string') return [400, { error: 'chainPem is required' }];
      return saved([201, connectpay.registerChain(body.chainPem)]);
    });
    this.on('GET', /^\/connectpay\/public-ca$/, () => [
      200,
      {
        rootPem: sims.connectpayPublicCa.root.certificatePem,
        intermediatePem: sims.connectpayPublicCa.intermediate.certificatePem,
      },
    ]);
    this.on('POST', /^\/connectpay\/auth-codes$/, () => [
      201,
      { code: connectpay.issueAuthCode(), expiresInSeconds: 86_400 },
    ]);
    this.on('POST', /^\/connectpay\/merchant-keys$/, (body) => {
      if (typeof body.publicKeyPem !== 'string') return [400, { error: 'publicKeyPem is required' }];
      if (!connectpay.settings.merchantPublicKeys.includes(body.publicKeyPem))
        connectpay.settings.merchantPublicKeys.push(body.publicKeyPem);
      return saved([201, { registered: connectpay.settings.merchantPublicKeys.length }]);
    });
    this.on('PUT', /^\/connectpay\/webhook$/, (body) => {
      Object.assign(connectpay.settings.webhook, body);
      return saved([200, { url: connectpay.settings.webhook.url, headerName: connectpay.settings.webhook.headerName }]);
    });
    this.on('PATCH', /^\/connectpay\/settings$/, (body) => {
      const { timeline, notifications, xSignatureSeparator, oneWayServesPersonData } = body as Partial<
        typeof connectpay.settings
      >;
      if (typeof oneWayServesPersonData === 'boolean')
        connectpay.settings.oneWayServesPersonData = oneWayServesPersonData;
      if (timeline) Object.assign(connectpay.settings.timeline, timeline);
      if (notifications) Object.assign(connectpay.settings.notifications, notifications);
      if (typeof xSignatureSeparator === 'string') connectpay.settings.xSignatureSeparator = xSignatureSeparator;
      return [200, { timeline: connectpay.settings.timeline, notifications: connectpay.settings.notifications }];
    });

    // Verestro
    this.on('GET', /^\/verestro\/ledger$/, () => [200, verestro.ledger]);
    this.on('GET', /^\/verestro\/signed$/, () => [200, verestro.signed]);
    this.on('GET', /^\/verestro\/callbacks\/log$/, () => [200, verestro.callbacks.log]);
    this.on('GET', /^\/verestro\/ca$/, () => [200, { caPem: sims.verestroCa.certificatePem }]);
    this.on('GET', /^\/verestro\/partner$/, () => [200, verestro.settings.partner]);
    this.on('POST', /^\/verestro\/csr$/, async (body) => {
      if (typeof body.csrPem !== 'string') return [400, { error: 'csrPem is required' }];
      const environment = (body.environment ?? 'sandbox') as VerestroSigningEnvironment;
      if (!['sandbox', 'beta', 'production'].includes(environment))
        return [400, { error: 'environment must be sandbox, beta or production' }];
      const result = await verestro.signCsr(body.csrPem, environment);
      return 'violations' in result ? [422, result] : [200, result];
    });
    this.on('GET', /^\/verestro\/callbacks\/csr$/, async () => [200, { csrPem: saved(await verestro.callbackCsr()) }]);
    this.on('PUT', /^\/verestro\/callbacks$/, (body) => {
      const { url, certificatePem, serverCaPem } = body as {
        url?: string;
        certificatePem?: string;
        serverCaPem?: string;
      };
      Object.assign(verestro.settings.callbacks, { url, certificatePem, serverCaPem });
      return saved([200, { url }]);
    });
    this.on('PATCH', /^\/verestro\/settings$/, (body) => {
      const { timeline, callbacks } = body as { timeline?: object; callbacks?: object };
      if (timeline) Object.assign(verestro.settings.timeline, timeline);
      if (callbacks) Object.assign(verestro.settings.callbacks, callbacks);
      return [200, { timeline: verestro.settings.timeline }];
    });
  }

  async listen(port: number): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections()));
  }

  private on(method: string, pattern: RegExp, handler: Handler): void {
    this.routes.push({ method, pattern, handler });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    let status = 404;
    let payload: unknown = { error: 'no such admin route' };
    for (const route of this.routes) {
      const match = route.method === req.method ? route.pattern.exec(path) : null;
      if (!match) continue;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        [status, payload] = await route.handler(text ? (JSON.parse(text) as Body) : {}, match);
      } catch (error) {
        [status, payload] = [400, { error: error instanceof Error ? error.message : String(error) }];
      }
      break;
    }
    const body = payload === null ? '' : JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}
