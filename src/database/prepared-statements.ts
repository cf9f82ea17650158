import { createHash } from 'node:crypto';
import { DatabaseError, type Pool, type PoolClient, type QueryConfig, type QueryResult } from 'pg';
import { DataSource, type EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

/** What runs a statement: the data source (a pooled connection of its own) or an open transaction. */
export type StatementRunner = DataSource | EntityManager;

/** Statement names by SQL text: one name per distinct text, so a name never means two statements. */
const names = new Map<string, string>();

/**
 * A name that says what the statement is (its first two words, which is what tracing and
 * pg_prepared_statements show) and is unique to its text (a hash of it).
 */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    const opening = text
      .trim()
      .split(/\s+/, 2)
      .join('_')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '');
    name = `${opening.slice(0, 24)}_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs a statement of the payout path as a named prepared statement: PostgreSQL parses it once per
 * connection, and from the sixth run it may plan it once (when its generic plan is estimated no
 * dearer than planning each run, which holds for statements keyed by id), where an unnamed statement
 * (what `DataSource.query` sends) is parsed and planned on every run. Measured on one of them (a
 * payout read by id): 290–400 → 120 µs of PostgreSQL CPU and 0.7–1.0 → 0.45 ms per round trip,
 * and it skips TypeORM's query runner (about 50 µs of our CPU each). The README's "How fast, how
 * safe" has the whole payout.
 *
 * Only for statements whose text comes from the code (their values are parameters): each distinct
 * text is prepared on each pooled connection that runs it and kept for the connection's life.
 * Errors come out as TypeORM's QueryFailedError, as from `query`, so callers (and the mapping of
 * an unavailable database to 503) see one kind of error either way.
 */
export async function runPrepared<Row>(
  runner: StatementRunner,
  text: string,
  parameters: unknown[],
): Promise<{ rows: Row[]; rowCount: number }> {
  const statement: QueryConfig = { name: statementName(text), text, values: parameters };
  try {
    let result: QueryResult;
    if (runner instanceof DataSource || !runner.queryRunner) {
      result = await onPooledConnection(poolOf(runner instanceof DataSource ? runner : runner.dataSource), statement);
    } else {
      // As TypeORM's own query(): a transaction that has ended must not run on a connection that
      // may already serve another request.
      if (runner.queryRunner.isReleased) throw new QueryRunnerAlreadyReleasedError();
      result = await ((await runner.queryRunner.connect()) as PoolClient).query(statement);
    }
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    if (error instanceof QueryRunnerAlreadyReleasedError) throw error;
    throw new QueryFailedError(text, parameters, error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Runs on a connection taken from the pool and gives it back. Not `pool.query`, which discards the
 * connection (and what is prepared on it) after any error: a refusal by PostgreSQL (a unique
 * violation, a lock timeout) leaves the connection sound, only a broken connection is discarded.
 */
async function onPooledConnection(pool: Pool, statement: QueryConfig): Promise<QueryResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await client.query(statement);
  } catch (error) {
    if (!(error instanceof DatabaseError)) broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}

function poolOf(dataSource: DataSource): Pool {
  // TypeORM's PostgreSQL driver keeps its node-postgres pool as `master` (typed `any` there).
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('the database connection is closed');
  return pool;
}
