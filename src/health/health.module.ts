import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CredentialsModule } from '../credentials/credentials.module';
import { ProvidersModule } from '../providers/providers.module';
import { HealthController } from './health.controller';
import { MigrationsHealthIndicator } from './migrations.health';

@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 }),
    CredentialsModule,
    ProvidersModule,
  ],
  controllers: [HealthController],
  providers: [MigrationsHealthIndicator],
})
export class HealthModule {}
