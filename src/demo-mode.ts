import type { INestApplication } from '@nestjs/common';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Environment } from './config/environment';

/**
 * What `npm start` adds outside production: the provider simulators in their own process, and
 * the demo credentials for every provider's `simulator` environment (src/demo/demo-mode.ts).
 *
 * src/demo and src/simulators are development tools: the production build (tsconfig.prod.json)
 * leaves them out and the production image does not contain them. So this file, which the
 * production entry does load, must not import them — not even for a type, since any import
 * pulls a file back into that build. main.ts knows them only through these interfaces.
 */
export interface DemoMode {
  /** Stops the simulator process. */
  stop(): Promise<void>;
  /** Seeds the demo credentials through the running app's own vault flows, once it listens at `address`. */
  seed(app: INestApplication, address: string): Promise<void>;
}

export interface DemoModeModule {
  /**
   * Starts the simulators and points the environment's simulator settings and CA file at them,
   * through each provider descriptor's simulator hook (the clients reach them through configuration).
   */
  startDemoMode(environment: Environment, log: Logger): Promise<DemoMode>;
}

/**
 * Loads src/demo/demo-mode by a path the compiler does not follow, so it stays out of the
 * production build's import graph. Only for `environment.simulatorsEnabled`, which is never
 * true with NODE_ENV=production.
 */
export async function loadDemoMode(environment: Environment): Promise<DemoModeModule> {
  if (!environment.simulatorsEnabled)
    throw new Error(
      'the demo mode (simulators and demo credentials) runs only when SIMULATORS=auto outside production',
    );
  const entry = pathToFileURL(path.join(__dirname, 'demo', 'demo-mode.js')).href;
  return (await import(entry)) as DemoModeModule;
}
