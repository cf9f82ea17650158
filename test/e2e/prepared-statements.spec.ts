import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import { toErrorResponse } from '../../src/common/errors/error-response';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { openDataSource } from '../../src/database/migrator';
import { runPrepared } from '../../src/database/prepared-statements';
import type { TestDatabase } from '../support/database';
import { createEmptyDatabase } from '../support/database';

describe('prepared statements (runPrepared)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createEmptyDatabase();
    dataSource = await openDataSource(database.url);
    await dataSource.query('CREATE TABLE ledger (id int PRIMARY KEY, amount numeric NOT NULL)');
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  /** The statements prepared on the connection that runs this (in a transaction: that one). */
  const preparedOn = async (runner: DataSource | EntityManager) =>
    (
      await runPrepared<{ name: string; statement: string }>(
        runner,
        'SELECT name, statement FROM pg_prepared_statements ORDER BY name',
        [],
      )
    ).rows;

  it('prepares a statement once on a connection, by a name derived from its text, and runs it with its values', async () => {
    const insert = 'INSERT INTO ledger (id, amount) VALUES ($1, $2::numeric) RETURNING amount::text';
    await dataSource.transaction(async (transaction) => {
      const first = await runPrepared<{ amount: string }>(transaction, insert, [1, '10.01']);
      const second = await runPrepared<{ amount: string }>(transaction, insert, [2, '0.10']);
      expect(first).toEqual({ rows: [{ amount: '10.01' }], rowCount: 1 });
      expect(second.rows).toEqual([{ amount: '0.10' }]);
      const prepared = (await preparedOn(transaction)).filter((row) => row.statement === insert);
      expect(prepared).toHaveLength(1); // run twice, prepared once
      expect(prepared[0].name).toMatch(/^insert_into_[0-9a-f]{24}$/); // what it is, and which text
    });
    const { rows } = await runPrepared<{ n: number }>(dataSource, 'SELECT count(*)::int AS n FROM ledger', []);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('runs in the caller transaction: a rollback takes its writes back', async () => {
    await expect(
      dataSource.transaction(async (transaction) => {
        await runPrepared(transaction, 'INSERT INTO ledger (id, amount) VALUES ($1, $2::numeric)', [3, '1']);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const { rows } = await runPrepared(dataSource, 'SELECT id FROM ledger WHERE id = $1', [3]);
    expect(rows).toEqual([]);
  });

  it('fails as TypeORM does (QueryFailedError with the SQLSTATE), and two texts never share a name', async () => {
    const error = await runPrepared(dataSource, 'INSERT INTO ledger (id, amount) VALUES ($1, $2::numeric)', [
      1,
      '5',
    ]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError).driverError).toMatchObject({ code: '23505' });
    // The same shape with other text is another statement (a name clash would be refused by node-postgres).
    await dataSource.transaction(async (transaction) => {
      await runPrepared(transaction, 'SELECT $1::int AS a', [1]);
      await runPrepared(transaction, 'SELECT $1::int AS b', [1]);
      const names = (await preparedOn(transaction)).filter((row) => /^SELECT \$1::int AS [ab]$/.test(row.statement));
      expect(new Set(names.map((row) => row.name)).size).toBe(2);
    });
  });

  it('keeps a pooled connection (and what is prepared on it) after PostgreSQL refuses a statement', async () => {
    const single = new DataSource(dataSourceOptions(database.url, 1, 1_000));
    await single.initialize();
    try {
      const backend = async () =>
        (await runPrepared<{ pid: number }>(single, 'SELECT pg_backend_pid() AS pid', [])).rows[0].pid;
      const before = await backend();
      await expect(runPrepared(single, 'SELECT 1 / $1::int', [0])).rejects.toBeInstanceOf(QueryFailedError);
      expect(await backend()).toBe(before); // the same connection: not discarded for a division by zero
    } finally {
      await single.destroy();
    }
  });

  it('answers 503 DATABASE_BUSY when no pooled connection frees up in time, as TypeORM queries do', async () => {
    const single = new DataSource(dataSourceOptions(database.url, 1, 200));
    await single.initialize();
    const holder = single.createQueryRunner();
    try {
      await holder.connect();
      const error = await runPrepared(single, 'SELECT 1', []).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueryFailedError);
      const answer = toErrorResponse(error, { method: 'GET', url: '/v1/payouts/x' });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('DATABASE_BUSY');
    } finally {
      await holder.release();
      await single.destroy();
    }
  });

  it('refuses to run on a transaction that has ended', async () => {
    let ended: EntityManager | undefined;
    await dataSource.transaction(async (transaction) => {
      ended = transaction;
      await runPrepared(transaction, 'SELECT 1', []);
    });
    await expect(runPrepared(ended!, 'SELECT 1', [])).rejects.toThrow(/released/i);
  });
});
