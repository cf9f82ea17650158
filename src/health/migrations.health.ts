import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Ready only when the database schema is at the version this build expects. */
@Injectable()
export class MigrationsHealthIndicator {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    try {
      const pending = await this.dataSource.showMigrations();
      return pending
        ? indicator.down({ message: 'migrations are pending; run npm run migration:run' })
        : indicator.up();
    } catch {
      return indicator.down({ message: 'could not read the migrations table' });
    }
  }
}
