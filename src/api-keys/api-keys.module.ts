import { Module } from '@nestjs/common';
import { Authenticator } from '../common/auth/authenticator';
import { AdminKeyBootstrap } from './admin-key.bootstrap';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { ApiKeysRepository } from './persistence/api-keys.repository';

@Module({
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    ApiKeysRepository,
    AdminKeyBootstrap,
    { provide: Authenticator, useExisting: ApiKeysService },
  ],
  exports: [Authenticator, ApiKeysService],
})
export class ApiKeysModule {}
