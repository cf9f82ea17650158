import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CredentialVault } from '../../src/credentials/credential-vault.service';
import { LISTENER_HEARTBEAT_MS } from '../../src/credentials/persistence/credential-changes.channel';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/sim-client';
import { type TestApp, startTestApp } from '../support/test-app';

const LISTENER_APPLICATION_NAME = 'payments-backend:credential-changes';

/**
 * A TCP proxy in front of PostgreSQL that can make the credential listener's connection go
 * silent: its bytes are dropped both ways while the socket stays open, as when the network between
 * the replica and the database partitions or the database host loses power. No FIN, no RST, no
 * error: only a heartbeat can tell. Other connections (the pool's) pass untouched.
 */
class PartitioningProxy {
  private silenced = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly upstream: { host: string; port: number }) {
    this.server = createServer((client) => this.relay(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on, the listener's connections open now are silent (new ones pass). */
  partitionListener(): void {
    this.silenced = true;
  }

  private relay(client: Socket): void {
    const server = createConnection(this.upstream);
    this.sockets.add(client).add(server);
    let isListener = false;
    // The startup message carries application_name in clear: that is how the listener is known.
    let opened = false;
    const silent = () => isListener && opened && this.silenced;
    client.on('data', (chunk: Buffer) => {
      if (!opened) {
        isListener = chunk.includes(LISTENER_APPLICATION_NAME);
        opened = true;
        if (isListener && this.silenced) this.silenced = false; // a reconnection passes
      }
      if (!silent()) server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!silent()) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('close', close).on('error', close);
    server.on('close', close).on('error', close);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('a credential listener whose connection goes silent', () => {
  let database: TestDatabase;
  let proxy: PartitioningProxy;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const direct = new URL(database.url);
    proxy = new PartitioningProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(await proxy.listen());
    t = await startTestApp({ database: { ...database, url: proxied.toString() } });
  });

  afterAll(async () => {
    await t.close();
    await proxy.close();
    await database.drop();
  });

  it('is found dead by its heartbeat, replaced, and the vault is read again', async () => {
    let resyncs = 0;
    t.app.get(CredentialVault).onResync(() => (resyncs += 1));
    proxy.partitionListener();
    // Two beats: the first query goes unanswered, the next beat gives up on the connection.
    await eventually(
      () => Promise.resolve(resyncs),
      (count) => count > 0,
      5 * LISTENER_HEARTBEAT_MS,
    );
    expect(t.logs.text).toMatch(/credential change listener lost its connection; reconnecting/);
    expect(t.logs.text).toMatch(/credential change listener reconnected; cached credentials are read again/);
  }, 40_000);
});
