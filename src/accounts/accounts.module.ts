import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { ProvidersModule } from '../providers/providers.module';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';

@Module({
  imports: [CredentialsModule, ProvidersModule],
  controllers: [AccountsController],
  providers: [AccountsService],
})
export class AccountsModule {}
