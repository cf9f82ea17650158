import type { INestApplication } from '@nestjs/common';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Environment } from '../config/environment';
import { resolveDataDir } from '../config/paths';
import type { DemoMode, DemoModeModule } from '../demo-mode';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { VerestroCallbackServer } from '../providers/verestro/verestro-callbacks.server';
import { DemoSeed, writeDemoSummary } from './demo-seed';
import { startSimulatorProcess } from './simulator-process';

/** Loaded by main.ts through `loadDemoMode` (src/demo-mode.ts), never imported by production code. */
export const startDemoMode: DemoModeModule['startDemoMode'] = async (
  environment: Environment,
  log: Logger,
): Promise<DemoMode> => {
  const dataDir = resolveDataDir(environment.DATA_DIR);
  const simulators = await startSimulatorProcess({
    portBase: environment.SIMULATORS_PORT_BASE,
    stateDir: path.join(dataDir, 'simulators'),
    log: (message) => log.warn(message),
  });
  log.info({ simulators: simulators.urls }, 'provider simulators are running');
  // The provider clients reach the simulators through configuration, like any provider: each
  // descriptor points its simulator environment at the running simulator.
  for (const descriptor of PROVIDER_DESCRIPTORS) descriptor.simulator.configure(environment, simulators.urls);
  environment.PROVIDER_CA_FILE = [environment.PROVIDER_CA_FILE, simulators.serverCaFile].filter(Boolean).join(',');

  return {
    stop: () => simulators.stop(),
    async seed(app: INestApplication, address: string): Promise<void> {
      const summary = await new DemoSeed(app, simulators, address, app.get(VerestroCallbackServer).url).run({
        connectPayAuthorization: 'complete',
      });
      const file = path.join(dataDir, 'demo.json');
      writeDemoSummary(file, summary);
      log.info(
        { created: summary.created, file },
        `demo: ${summary.credentials.length} simulator credentials are ready (${summary.created.length} created now); ` +
          `they are listed in ${file} and under GET /v1/credentials?environment=simulator`,
      );
    },
  };
};
