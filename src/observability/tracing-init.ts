/**
 * Starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set. Imported by main.ts before
 * anything else, because the instrumentations patch http, express and pg when those are first
 * loaded. Reads the variable (and .env, as main.ts does) itself: Environment is validated later,
 * and an invalid value there still stops the boot.
 *
 * What is traced: incoming HTTP requests (one server span each), Express routing, every SQL
 * statement (text without parameter values), fetch/undici calls, and each provider call
 * (src/observability/tracing.ts). Outgoing node:http(s) requests are not instrumented: provider
 * calls have their own span instead, and no trace header is ever added to a request to a
 * provider (it would be sent to a third party and, for some, change what they verify).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../config/paths';
import type * as TracingSdk from './tracing-sdk';

const dotenv = path.join(projectRoot(), '.env');
if (existsSync(dotenv)) process.loadEnvFile(dotenv);
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
const sdk =
  endpoint && /^https?:\/\/\S+$/.test(endpoint)
    ? // Loaded only when tracing is on: without it none of the SDK is even required.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('./tracing-sdk') as typeof TracingSdk).startTracing(endpoint)
    : undefined;

/** Sends the spans still buffered and stops tracing (a shutdown step of main.ts); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
}
