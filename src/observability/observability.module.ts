import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';

/** database_pool_connections, read from the pg pool at scrape time. */
@Injectable()
class DatabasePoolMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.metrics.onScrape(() => {
      // TypeORM's postgres driver keeps its pg Pool as `master` (not in its public types).
      const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
      if (!pool) return;
      this.metrics.databasePool.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.metrics.databasePool.set({ state: 'idle' }, pool.idleCount);
      this.metrics.databasePool.set({ state: 'waiting' }, pool.waitingCount);
    });
  }
}

/** Prometheus metrics for every module (Metrics is global), served per METRICS. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics, MetricsServer, DatabasePoolMetrics],
  exports: [Metrics],
})
export class ObservabilityModule {}
