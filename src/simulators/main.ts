/**
 * npm run simulators [-- --port-base 4100 --state-dir .data/simulators --seed 1 --fast]
 * Starts the D24, ConnectPay and Verestro simulators and their admin API, prints the ports.
 */
import 'reflect-metadata';
import * as path from 'node:path';
import { projectRoot } from '../config/paths';
import { DEFAULT_PORTS, startSimulators } from './simulators';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const base = Number(option('port-base') ?? DEFAULT_PORTS.admin);
  const stateDir = path.resolve(projectRoot(), option('state-dir') ?? '.data/simulators');
  const sims = await startSimulators({
    stateDir,
    seed: Number(option('seed') ?? 1),
    fast: process.argv.includes('--fast'),
    ports:
      base === 0
        ? { admin: 0, d24: 0, connectpayMtls: 0, connectpayOneWay: 0, verestro: 0 }
        : { admin: base, d24: base + 1, connectpayMtls: base + 2, connectpayOneWay: base + 3, verestro: base + 4 },
  });
  const ready = {
    event: 'simulators-ready',
    urls: sims.urls,
    ports: sims.ports,
    serverCaFile: path.join(stateDir, 'server-ca.pem'),
  };
  if (process.send) process.send(ready);
  process.stdout.write(
    [
      'Provider simulators are running (loopback only):',
      `  D24 Cashouts v3        ${sims.urls.d24}`,
      `  ConnectPay mTLS host   ${sims.urls.connectpayMtls}`,
      `  ConnectPay one-way     ${sims.urls.connectpayOneWay}`,
      `  Verestro mTLS host     ${sims.urls.verestro}`,
      `  Admin API (HTTP)       ${sims.urls.admin}`,
      `  Server CA certificate  ${ready.serverCaFile}`,
      JSON.stringify(ready),
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void sims.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulators could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
