import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import * as path from 'node:path';

export interface SimulatorEndpoints {
  urls: { admin: string; d24: string; connectpayMtls: string; connectpayOneWay: string; verestro: string };
  serverCaFile: string;
}

export interface SimulatorProcess extends SimulatorEndpoints {
  /** The simulators' process (the bench reads its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Runs the simulators in their own process (as a provider would be), so their TLS and timers
 * never compete with the API's event loop, and waits until they report their ports.
 */
export function startSimulatorProcess(options: {
  portBase: number;
  stateDir: string;
  log: (message: string) => void;
}): Promise<SimulatorProcess> {
  const entry = path.join(__dirname, '..', 'simulators', 'main.js');
  const child: ChildProcess = fork(entry, ['--port-base', String(options.portBase), '--state-dir', options.stateDir], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the simulators did not start within 30 s')), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulators exited with code ${code}: ${stderr.trim()}`));
    });
    child.once('message', (message: { event?: string } & SimulatorEndpoints) => {
      if (message.event !== 'simulators-ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.once('exit', (code, signal) => options.log(`the simulators stopped (code ${code}, signal ${signal})`));
      resolve({
        urls: message.urls,
        serverCaFile: message.serverCaFile,
        pid: child.pid,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
