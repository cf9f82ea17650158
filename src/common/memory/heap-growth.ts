import { setFlagsFromString } from 'node:v8';

/**
 * Caps how far V8 grows the heap past the bytes that survived its last full collection before it
 * collects again (`--heap-growing-percent`). V8 reads the flag each time it sizes the heap after a
 * collection, so setting it once the process runs takes effect from the next one; 0 leaves V8's own
 * factor, which is 2.5–4 while allocation is fast.
 *
 * Set from the code rather than the command line because Node refuses the flag in NODE_OPTIONS,
 * and every way the service starts (npm start, the container, the bench) goes through main.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
