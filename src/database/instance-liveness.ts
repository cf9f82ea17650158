import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

/** First half of every liveness lock key ("PBLV"), so these locks never collide with other advisory locks. */
const LIVENESS_LOCK_CLASS = 0x50424c56;
const RECONNECT_DELAY_MS = 1_000;

/**
 * Tells other processes whether this one is alive, through PostgreSQL itself: the process holds a
 * session advisory lock on a dedicated connection for as long as it runs. When the process dies
 * (even by SIGKILL) the operating system closes that connection and PostgreSQL releases the lock
 * at once, so a replica, or this service restarted, can tell "still working" from "gone" without
 * waiting out a timeout.
 */
@Injectable()
export class InstanceLiveness implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('InstanceLiveness');
  private client: Client | undefined;
  private stopped = false;
  /** This process's lock key while it holds it; null before start-up or while reconnecting. */
  id: number | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.id = null;
    await this.client?.end().catch(() => undefined);
  }

  /** Which of these instances still hold their lock (are alive). */
  async alive(ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    // For pg_advisory_lock(int4, int4), pg_locks shows the keys in classid and objid (as oid), objsubid 2.
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT objid::text AS id FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid = $1::oid AND objid = ANY($2::oid[])`,
      [LIVENESS_LOCK_CLASS, ids],
    );
    return new Set(rows.map((row) => Number(row.id)));
  }

  private async connect(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    const client = new Client({ connectionString: url, application_name: 'payments-backend liveness' });
    // An 'error' event without a listener would end the process: a lost connection only means
    // other processes now see this one as gone, until it reconnects with a new key.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (;;) {
        const candidate = randomInt(1, 2 ** 31 - 1);
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
          LIVENESS_LOCK_CLASS,
          candidate,
        ]);
        if (rows[0]?.locked) {
          this.client = client;
          this.id = candidate;
          return;
        }
      }
    } catch (error) {
      this.lost(client, error);
    }
  }

  private lost(client: Client, error?: unknown): void {
    if (this.client !== undefined && this.client !== client) return;
    this.client = undefined;
    this.id = null;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.logger.warn(
      { error: error instanceof Error ? error.message : undefined },
      'liveness connection lost; in-flight idempotent requests may be taken over by a retry; reconnecting',
    );
    setTimeout(() => {
      this.connect().catch(() => undefined); // connect() handles its own failures
    }, RECONNECT_DELAY_MS).unref();
  }
}
