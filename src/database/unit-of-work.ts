import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * The handle of one open database transaction. Repositories take it as their first argument for
 * statements that must commit together with others (a payout's new state, its history row, its
 * outbox rows and the stored idempotent answer); without it they run on their own.
 * Services only pass it along: they never run SQL on it.
 */
export type Transaction = EntityManager;

/**
 * Opens transactions for services that orchestrate several repositories. One run() is one
 * BEGIN … COMMIT (rolled back when the work throws), exactly like DataSource.transaction().
 */
@Injectable()
export class UnitOfWork {
  /** Work to do once a run()'s transaction has committed (never when it rolls back). */
  private readonly committed = new WeakMap<Transaction, Array<() => void>>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async run<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    const pending: Array<() => void> = [];
    const result = await this.dataSource.transaction((transaction) => {
      this.committed.set(transaction, pending);
      return work(transaction);
    });
    for (const effect of pending) effect();
    return result;
  }

  /**
   * Runs `effect` after the transaction of run() that `transaction` belongs to commits, so what
   * it records (metrics) is only what happened. For a transaction not opened by run() it runs at
   * once. Effects must not throw.
   */
  afterCommit(transaction: Transaction, effect: () => void): void {
    const pending = this.committed.get(transaction);
    if (pending) pending.push(effect);
    else effect();
  }
}
