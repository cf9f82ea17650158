import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';

const CHANGES_CHANNEL = 'credential_changes';

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
    });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) onPayload(message.payload);
    });
    client.on('error', onLost);
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    return { close: () => client.end() };
  }
}
