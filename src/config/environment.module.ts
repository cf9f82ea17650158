import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Environment } from './environment';

/**
 * Makes the validated Environment injectable everywhere, and feeds the same values to
 * @nestjs/config's ConfigService for libraries that read configuration through it.
 * Validation happens once, before the app is built (see loadEnvironment), so that a bad
 * variable stops the process before any database is started.
 */
@Global()
@Module({})
export class EnvironmentModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: EnvironmentModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          validatePredefined: false,
          skipProcessEnv: true,
          load: [() => ({ ...environment })],
        }),
      ],
      providers: [{ provide: Environment, useValue: environment }],
      exports: [Environment, ConfigModule],
    };
  }
}
