import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';

const CHANGES_CHANNEL = 'credential_changes';
/**
 * How often the listening connection must prove it is alive, and how long its answer may take. A
 * connection whose peer vanished without a FIN or RST (a network partition, a database host that
 * lost power) raises no error: without this the replica stayed deaf to other replicas' changes,
 * revocations included, for as long as TCP took to give up (minutes to hours).
 */
export const LISTENER_HEARTBEAT_MS = 5_000;
/** Connecting and each query (LISTEN, the heartbeat) may take this long on the listening connection. */
const LISTENER_TIMEOUT_MS = 5_000;

/** An open LISTEN connection. */
export interface ChangeSubscription {
  close(): Promise<void>;
}

/**
 * PostgreSQL LISTEN/NOTIFY on credential_changes: how replicas tell each other that a credential's
 * status changed. A notification is delivered at commit, to every listener (this process's too).
 */
@Injectable()
export class CredentialChangesChannel {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async publish(transaction: Transaction, payload: string): Promise<void> {
    await transaction.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
  }

  /**
   * Listens on its own connection (a pooled one would be handed back). Null when the database is
   * not reachable by URL (then there is nobody else to hear from).
   */
  async listen(
    onPayload: (payload: string) => void,
    onLost: (error: Error) => void,
  ): Promise<ChangeSubscription | null> {
    const options = this.dataSource.options as { url?: string };
    if (!options.url) return null;
    const client = new Client({
      connectionString: options.url,
      application_name: 'payments-backend:credential-changes',
      // A partition while connecting or before LISTEN answers fails in seconds, not after TCP's
      // own retries (minutes); the caller then tries again.
      connectionTimeoutMillis: LISTENER_TIMEOUT_MS,
      query_timeout: LISTENER_TIMEOUT_MS,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) onPayload(message.payload);
    });
    // A loss before LISTEN has answered is the caller's, through the rejected promise: reported
    // here too, it would start a second reconnection.
    let listening = false;
    client.on('error', (error: Error) => {
      if (listening) onLost(error);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    listening = true;
    const heartbeat = this.heartbeat(client);
    client.once('end', () => clearInterval(heartbeat));
    return {
      close: () => {
        clearInterval(heartbeat);
        return client.end();
      },
    };
  }

  /**
   * A `SELECT 1` on the listening connection every LISTENER_HEARTBEAT_MS. One that has not answered
   * by the next beat means the connection is gone: its socket is destroyed, and node-postgres then
   * reports the loss ("Connection terminated unexpectedly") to the `error` listener, as for any
   * other lost connection. The beat looks after the loop's I/O phase (setImmediate): after the
   * loop was blocked for a beat, an answer already waiting in the socket is read first, not
   * taken for silence.
   */
  private heartbeat(client: Client): NodeJS.Timeout {
    let answered = true;
    const beat = setInterval(() => {
      setImmediate(() => {
        if (!answered) {
          clearInterval(beat);
          client.connection.stream.destroy();
          return;
        }
        answered = false;
        client.query('SELECT 1').then(
          () => (answered = true),
          () => undefined, // the connection's error listener hears of it
        );
      });
    }, LISTENER_HEARTBEAT_MS);
    beat.unref();
    return beat;
  }
}
