import { Module } from '@nestjs/common';

/** D24's Nest side. */
@Module({})
export class D24Module {}
