import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ConnectPaySettings } from './connectpay/connectpay.simulator';
import { ConnectPaySimulator } from './connectpay/connectpay.simulator';
import type { D24Settings } from './d24/d24.simulator';
import { D24Simulator } from './d24/d24.simulator';
import type { SimServer } from './kit/http-server';
import type { Authority, CertifiedKey } from './kit/pki';
import { authorityFrom, createIntermediateAuthority, createRootAuthority, issueServerCertificate } from './kit/pki';
import type { VerestroSettings } from './verestro/verestro.simulator';
import { VerestroSimulator } from './verestro/verestro.simulator';
import { AdminServer } from './admin';

/**
 * Starts the three provider simulators and their admin API. Everything listens on loopback.
 * With a state directory, the simulators' CAs and registrations survive restarts (the product
 * keeps certificates they signed); without one, everything is fresh (tests).
 */
export interface SimulatorPorts {
  admin: number;
  d24: number;
  connectpayMtls: number;
  connectpayOneWay: number;
  verestro: number;
}

export interface SimulatorOptions {
  stateDir?: string;
  ports?: Partial<SimulatorPorts>;
  seed?: number;
  /** Short timelines and retries, for tests and the demo. */
  fast?: boolean;
}

interface PkiState {
  serverCa: CertifiedKey;
  server: CertifiedKey;
  connectpayRoot: CertifiedKey;
  connectpayIntermediate: CertifiedKey;
  verestroCa: CertifiedKey;
}

interface RegistrationState {
  d24: Pick<D24Settings, 'merchants' | 'allowedIps'>;
  connectpay: Pick<ConnectPaySettings, 'devApp' | 'registeredCertificates' | 'merchantPublicKeys' | 'webhook'>;
  verestro: {
    partner: VerestroSettings['partner'];
    callbacks: Omit<VerestroSettings['callbacks'], 'retryDelaysMs' | 'duplicate' | 'reorderWindowMs'>;
  };
}

export interface RunningSimulators {
  ports: SimulatorPorts;
  urls: { admin: string; d24: string; connectpayMtls: string; connectpayOneWay: string; verestro: string };
  /** Trust anchor for every simulator's TLS server certificate. */
  serverCaPem: string;
  connectpayPublicCa: { root: Authority; intermediate: Authority };
  verestroCa: Authority;
  d24: D24Simulator;
  connectpay: ConnectPaySimulator;
  verestro: VerestroSimulator;
  servers: Record<string, SimServer>;
  /** Writes registrations (keys, certificates, webhook targets) to the state directory, if any. */
  persist(): void;
  stop(): Promise<void>;
}

export const DEFAULT_PORTS: SimulatorPorts = {
  admin: 4100,
  d24: 4101,
  connectpayMtls: 4102,
  connectpayOneWay: 4103,
  verestro: 4104,
};

async function loadPki(stateDir: string | undefined): Promise<PkiState> {
  const file = stateDir ? path.join(stateDir, 'pki.json') : undefined;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PkiState;
  const serverCa = await createRootAuthority('CN=payments-backend Simulator Server CA,O=payments-backend simulators');
  const connectpayRoot = await createRootAuthority('CN=Simulated Public Root CA,O=Simulated Trust Services,C=LT');
  const [server, connectpayIntermediate, verestroCa] = await Promise.all([
    issueServerCertificate(serverCa, 'payments-backend simulators'),
    createIntermediateAuthority(connectpayRoot, 'CN=Simulated Public Issuing CA 1,O=Simulated Trust Services,C=LT'),
    createRootAuthority('CN=Verestro Simulator CA,O=Verestro Simulator,C=PL'),
  ]);
  const state: PkiState = {
    serverCa: { certificatePem: serverCa.certificatePem, privateKeyPem: serverCa.privateKeyPem },
    server,
    connectpayRoot: { certificatePem: connectpayRoot.certificatePem, privateKeyPem: connectpayRoot.privateKeyPem },
    connectpayIntermediate: {
      certificatePem: connectpayIntermediate.certificatePem,
      privateKeyPem: connectpayIntermediate.privateKeyPem,
    },
    verestroCa: { certificatePem: verestroCa.certificatePem, privateKeyPem: verestroCa.privateKeyPem },
  };
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
    writeFileSync(path.join(path.dirname(file), 'server-ca.pem'), state.serverCa.certificatePem, { mode: 0o644 });
  }
  return state;
}

function loadRegistrations(stateDir: string | undefined): RegistrationState {
  const file = stateDir ? path.join(stateDir, 'registrations.json') : undefined;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as RegistrationState;
  return {
    d24: { merchants: [], allowedIps: ['127.0.0.1', '::1'] },
    connectpay: {
      devApp: {
        clientKey: `sim-${randomBytes(6).toString('hex')}`,
        clientSecret: randomBytes(24).toString('base64url'),
        brandId: 'sim-brand-001',
      },
      registeredCertificates: [],
      merchantPublicKeys: [],
      webhook: { headerName: 'X-Secret-Token' },
    },
    verestro: {
      partner: {
        username: `partner-${randomBytes(4).toString('hex')}`,
        password: randomBytes(24).toString('base64url'),
      },
      callbacks: {},
    },
  };
}

export async function startSimulators(options: SimulatorOptions = {}): Promise<RunningSimulators> {
  const seed = options.seed ?? 1;
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const pki = await loadPki(options.stateDir);
  const registrations = loadRegistrations(options.stateDir);
  const fast = options.fast ?? false;
  const tls = { cert: pki.server.certificatePem, key: pki.server.privateKeyPem };
  const retries = fast ? [50, 100, 200, 400, 800] : [5_000, 5_000, 30_000, 300_000, 3_600_000, 86_400_000];

  const [connectpayRoot, connectpayIntermediate, verestroCa] = await Promise.all([
    authorityFrom(pki.connectpayRoot),
    authorityFrom(pki.connectpayIntermediate),
    authorityFrom(pki.verestroCa),
  ]);

  const d24 = new D24Simulator(
    tls,
    {
      ...registrations.d24,
      balances: {
        BRL: '1000000.00',
        MXN: '1000000.00',
        COP: '100000000.00',
        ARS: '10000000.00',
        CLP: '100000000.00',
        PEN: '1000000.00',
        USD: '1000000.00',
        EUR: '1000000.00',
      },
      timeline: fast
        ? { deliverAfterMs: 150, completeAfterMs: 150 }
        : { deliverAfterMs: 3_000, completeAfterMs: 5_000 },
      notifications: { retryDelaysMs: retries, duplicate: false, reorderWindowMs: 0 },
      controlAffixes: { prefix: 'Be4', suffix: 'Bo7' },
      ignoreOnHoldAtCreate: false,
    },
    seed,
  );
  const connectpay = new ConnectPaySimulator(
    { ...tls, ca: [pki.connectpayRoot.certificatePem] },
    tls,
    {
      ...registrations.connectpay,
      xSignatureSeparator: '',
      oneWayServesPersonData: false,
      timeline: fast ? { processAfterMs: 150, settleAfterMs: 150 } : { processAfterMs: 3_000, settleAfterMs: 5_000 },
      notifications: { retryDelaysMs: retries, duplicate: false, reorderWindowMs: 0 },
    },
    seed,
  );
  const verestro = new VerestroSimulator(
    tls,
    verestroCa,
    {
      partner: registrations.verestro.partner,
      timeline: { completeAfterMs: fast ? 200 : 4_000 },
      callbacks: { ...registrations.verestro.callbacks, retryDelaysMs: retries, duplicate: false, reorderWindowMs: 0 },
    },
    seed,
  );

  const persist = () => {
    if (!options.stateDir) return;
    const state: RegistrationState = {
      d24: { merchants: d24.settings.merchants, allowedIps: d24.settings.allowedIps },
      connectpay: {
        devApp: connectpay.settings.devApp,
        registeredCertificates: connectpay.settings.registeredCertificates,
        merchantPublicKeys: connectpay.settings.merchantPublicKeys,
        webhook: connectpay.settings.webhook,
      },
      verestro: {
        partner: verestro.settings.partner,
        callbacks: {
          url: verestro.settings.callbacks.url,
          certificatePem: verestro.settings.callbacks.certificatePem,
          serverCaPem: verestro.settings.callbacks.serverCaPem,
          clientKeyPem: verestro.settings.callbacks.clientKeyPem,
          csrPem: verestro.settings.callbacks.csrPem,
        },
      },
    };
    writeFileSync(path.join(options.stateDir, 'registrations.json'), JSON.stringify(state, null, 2), { mode: 0o600 });
  };

  const servers: Record<string, SimServer> = {
    d24: d24.server,
    'connectpay-mtls': connectpay.mtls,
    'connectpay-oneway': connectpay.oneWay,
    verestro: verestro.server,
  };
  const started: SimulatorPorts = {
    d24: await d24.server.listen(ports.d24),
    connectpayMtls: await connectpay.mtls.listen(ports.connectpayMtls),
    connectpayOneWay: await connectpay.oneWay.listen(ports.connectpayOneWay),
    verestro: await verestro.server.listen(ports.verestro),
    admin: 0,
  };
  const running: RunningSimulators = {
    ports: started,
    urls: {
      admin: '',
      d24: `https://127.0.0.1:${started.d24}`,
      connectpayMtls: `https://127.0.0.1:${started.connectpayMtls}`,
      connectpayOneWay: `https://127.0.0.1:${started.connectpayOneWay}`,
      verestro: `https://127.0.0.1:${started.verestro}`,
    },
    serverCaPem: pki.serverCa.certificatePem,
    connectpayPublicCa: { root: connectpayRoot, intermediate: connectpayIntermediate },
    verestroCa,
    d24,
    connectpay,
    verestro,
    servers,
    persist,
    stop: async () => {
      d24.close();
      connectpay.close();
      verestro.close();
      await Promise.all([...Object.values(servers).map((server) => server.close()), admin.close()]);
    },
  };
  const admin = new AdminServer(running);
  started.admin = await admin.listen(ports.admin);
  running.urls.admin = `http://127.0.0.1:${started.admin}`;
  return running;
}
