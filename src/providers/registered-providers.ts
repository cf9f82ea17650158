/**
 * The providers this service speaks to. This is the only file outside a provider's own folder
 * (and the simulators and demo) that names providers: everything else iterates over these
 * descriptors. To add a provider, follow docs/adding-a-provider.md and add one line here.
 *
 * The order is the order of enums in the API (openapi.json).
 */
import type { Type } from '@nestjs/common';
import { verestroDescriptor } from './verestro/verestro.descriptor';
import { connectPayDescriptor } from './connectpay/connectpay.descriptor';
import { d24Descriptor } from './d24/d24.descriptor';

export const PROVIDER_DESCRIPTORS = [verestroDescriptor, connectPayDescriptor, d24Descriptor] as const;

type Registered = (typeof PROVIDER_DESCRIPTORS)[number];

/** Every provider's settings variables together, as they appear on the validated Environment. */
type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void
  ? I
  : never;
type SettingsOf<D> = D extends { settings: Type<infer S> } ? S : never;
export type RegisteredProviderSettings = UnionToIntersection<SettingsOf<Registered>>;
