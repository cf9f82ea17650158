import { ProviderError } from '../../src/providers/provider.port';

/** A provider answer body as the client receives it: the bytes of some JSON. */
export const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Runs a mapper call that must raise, and returns the ProviderError it raised (anything else fails the test). */
export function caught(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw new Error(`expected a ProviderError, got ${String(error)}`);
  }
  throw new Error('expected a ProviderError, nothing was thrown');
}
