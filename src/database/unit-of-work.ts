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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  run<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
