import { Module } from '@nestjs/common';

/** Verestro's Nest side. */
@Module({})
export class VerestroModule {}
