/**
 * Lookups over the registered descriptors, for code that must not name a provider: the id list,
 * each provider's environments, and the descriptor of a provider id.
 */
import { PROVIDER_DESCRIPTORS } from './registered-providers';

type Registered = (typeof PROVIDER_DESCRIPTORS)[number];

export type Provider = Registered['id'];
export type EnvironmentOf<P extends Provider> = Extract<Registered, { id: P }>['environments'][number];
export type ProviderEnvironment = Registered['environments'][number];
export type DescriptorOf<P extends Provider> = Extract<Registered, { id: P }>;

export const PROVIDERS = PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.id) as readonly Provider[] as readonly [
  Provider,
  ...Provider[],
];

/** Each provider's own names for its environments. */
export const ENVIRONMENTS = Object.fromEntries(
  PROVIDER_DESCRIPTORS.map((descriptor) => [descriptor.id, descriptor.environments]),
) as {
  readonly [P in Provider]: readonly EnvironmentOf<P>[];
};

export const ALL_ENVIRONMENTS = [
  ...new Set(PROVIDER_DESCRIPTORS.flatMap((descriptor) => descriptor.environments as readonly string[])),
] as ProviderEnvironment[];

const BY_ID = new Map<string, Registered>(PROVIDER_DESCRIPTORS.map((descriptor) => [descriptor.id, descriptor]));

export function isProvider(value: string): value is Provider {
  return BY_ID.has(value);
}

export function descriptorOf<P extends Provider>(provider: P): DescriptorOf<P> {
  const descriptor = BY_ID.get(provider);
  // Unreachable for a typed id; a stored row naming a provider that was removed lands here.
  if (!descriptor) throw new Error(`No provider "${provider}" is registered.`);
  return descriptor as DescriptorOf<P>;
}

export function isEnvironmentOf(provider: Provider, environment: string): environment is ProviderEnvironment {
  return (descriptorOf(provider).environments as readonly string[]).includes(environment);
}
