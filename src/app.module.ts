import { AuditModule } from './audit/audit.module';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DestinationStream } from 'pino';
import { AccountsModule } from './accounts/accounts.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { ApiKeyGuard } from './common/auth/api-key.guard';
import { RateLimitModule } from './common/rate-limit/rate-limit.module';
import { createLogger, SERVICE_LOGGER } from './common/logging/logging';
import { Environment } from './config/environment';
import { EnvironmentModule } from './config/environment.module';
import { CredentialsApiModule } from './credentials/credentials-api.module';
import { CredentialsModule } from './credentials/credentials.module';
import { dataSourceOptions } from './database/data-source-options';
import { LivenessModule } from './database/liveness.module';
import { ShutdownModule } from './common/shutdown/shutdown-signal';
import { HealthModule } from './health/health.module';
import { ObservabilityModule } from './observability/observability.module';
import { PayoutsModule } from './payouts/payouts.module';
import { BatchesModule } from './batches/batches.module';
import { ProviderIntegrationsModule } from './providers/provider-integrations.module';
import { ProvidersModule } from './providers/providers.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export interface AppOptions {
  environment: Environment;
  /** The database to use: DATABASE_URL or the embedded cluster's URL. */
  databaseUrl: string;
  /** Where logs go (tests capture them); standard output by default. */
  logStream?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    const { environment } = options;
    return {
      module: AppModule,
      imports: [
        EnvironmentModule.forRoot(environment),
        TypeOrmModule.forRoot(
          dataSourceOptions(options.databaseUrl, environment.DATABASE_POOL_MAX, environment.DATABASE_POOL_WAIT_MS),
        ),
        ScheduleModule.forRoot(),
        ObservabilityModule,
        LivenessModule,
        ShutdownModule,
        AuditModule,
        RateLimitModule,
        HealthModule,
        ApiKeysModule,
        CredentialsModule,
        ProvidersModule,
        PayoutsModule,
        BatchesModule,
        WebhooksModule,
        AccountsModule,
        ProviderIntegrationsModule,
        // After the provider integrations: its /v1/credentials/:id routes must not shadow their fixed paths.
        CredentialsApiModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: SERVICE_LOGGER, useValue: createLogger(environment, options.logStream) },
      ],
    };
  }
}
