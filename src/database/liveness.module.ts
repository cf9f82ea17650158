import { Global, Module } from '@nestjs/common';
import { InstanceLiveness } from './instance-liveness';

@Global()
@Module({ providers: [InstanceLiveness], exports: [InstanceLiveness] })
export class LivenessModule {}
