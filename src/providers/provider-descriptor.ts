/**
 * What the rest of the application knows about a provider, declared once in the provider's own
 * folder (`src/providers/<p>/<p>.descriptor.ts`). Registry, configuration, endpoints, webhook
 * routing, credential onboarding, the payout DTO and the state machine read descriptors instead
 * of naming providers, so adding a provider means adding a folder and one line in
 * `registered-providers.ts` (see docs/adding-a-provider.md).
 *
 * A descriptor module must stay cheap to import: it is loaded by configuration and DTOs at
 * start-up, so it imports only pure code (its settings class, mapper tables, the client class,
 * whose own runtime imports are pure too). Nest modules (controllers, listeners, injectables)
 * are reached through `integration`, a lazy import, which keeps import cycles out.
 */
import type { Abstract, DynamicModule, Type } from '@nestjs/common';
import type { Environment } from '../config/environment';
import type { CredentialKind } from '../credentials/domain/credential';
import type { PayoutStatus } from '../payouts/domain/payout';
import type { CredentialedHttp } from './http/credentialed-http';
import type { Beneficiary, Capabilities, PayoutProvider, ProviderPayoutState } from './provider.port';

/** mTLS for server-to-server APIs that touch person data; one-way TLS for the rest (a provider may have both). */
export type HostFamily = 'mtls' | 'tls';

/** Where one host of one environment is configured: the variable, and its default when there is a public one. */
export interface BaseUrlSetting {
  variable: string;
  /** The provider's public host or the local simulator's; absent when it comes with the contract. */
  default?: string;
}

/** A documented way out of a final status (e.g. a completed payout the bank returns becomes rejected). */
export interface StatusReversal {
  from: PayoutStatus;
  to: PayoutStatus;
  /** Where the provider documents it. */
  source: string;
}

/** What a running client needs from the application; given to `createClient`. */
export interface ProviderClientContext {
  http: CredentialedHttp;
  settings: Environment;
  /** Injectables of the provider's own integration module (e.g. an OAuth token manager). */
  resolve<T>(type: Type<T> | Abstract<T>): T;
}

/** How the provider's notifications reach us. */
export type WebhookTransport =
  /** POST /v1/webhooks/<route> on the main listener, served by the provider's integration module. */
  | { kind: 'route'; route: string; allowedSourcesVariable?: string }
  /** A listener of the provider's own (e.g. mutual-TLS callbacks), run by its integration module. */
  | { kind: 'listener'; portVariable: string }
  | { kind: 'none' };

/** The simulator's URLs as the simulator process reports them. */
export type SimulatorUrls = Record<string, string>;

/** A provider rule a beneficiary breaks: `field` is the beneficiary's own field name, or `currency`. */
export interface BeneficiaryRuleProblem {
  field: string;
  code: string;
  message: string;
}

/**
 * Descriptors are declared with this type as an annotation (not inferred): the provider ids and
 * settings that the rest of the types derive from must not depend on the clients' own types.
 */
export interface ProviderDescriptor<
  Id extends string = string,
  Env extends string = string,
  Settings extends object = object,
> {
  readonly id: Id;
  readonly displayName: string;
  /** Its own names for its environments; `simulator` is the local simulator. */
  readonly environments: readonly Env[];
  /** Environments where real money moves. */
  readonly liveEnvironments: readonly Env[];
  /** The environment variables it reads, validated at boot with the rest (class-validator class). */
  readonly settings: Type<Settings>;
  /** Host families and where each environment's host is configured. Base URLs come from configuration only. */
  readonly hostFamilies: readonly HostFamily[];
  readonly baseUrls: { readonly [E in Env]: Partial<Record<HostFamily, BaseUrlSetting>> };
  /** The beneficiary it pays to, and the DTO class that validates and documents it. */
  readonly rail: Beneficiary['type'];
  readonly beneficiaryDto: Type<object>;
  /**
   * The provider's own rules on a beneficiary its DTO accepted (fields a country requires, the
   * formats of its bank codes, wallets and keys) and, for a payout, on its currency. Problems name
   * a beneficiary field, or `currency`. Run on inline and stored beneficiaries alike.
   */
  readonly beneficiaryRules?: (
    beneficiary: Beneficiary,
    context: { currency?: string },
  ) => readonly BeneficiaryRuleProblem[];
  /**
   * A payout this provider takes, every field valid (check digits included): the example row of
   * the batch CSV template. Nothing is ever sent from it.
   */
  readonly samplePayout: {
    readonly currency: string;
    readonly amount: string;
    readonly beneficiary: Readonly<Record<string, unknown>>;
  };
  readonly capabilities: Capabilities;
  /** The credential kinds it uses; each is onboarded by a route of its integration module. */
  readonly credentialKinds: readonly CredentialKind[];
  /** The provider's payout statuses, mapped into the domain's (its mapper's status table). */
  readonly statusTable: Readonly<Record<string, ProviderPayoutState>>;
  /** What a status missing from the table means: a state to keep checking, or a protocol error when the set is closed. */
  readonly unknownStatus: ProviderPayoutState | 'protocol_error';
  /** Kinds whose certificate chain the provider wants as a .zip (GET /v1/credentials/:id/submission.zip, served by its module). */
  readonly chainSubmissionKinds?: readonly CredentialKind[];
  /** Ways out of a final status that the provider documents; none for most. */
  readonly reversals: readonly StatusReversal[];
  readonly webhook: WebhookTransport;
  /** Builds the client for one environment (one instance per environment, kept by the registry). */
  createClient(environment: Env, context: ProviderClientContext): PayoutProvider;
  /**
   * The Nest module with its onboarding routes, webhook route or listener and injectables. A
   * function that requires the module when called, so importing the descriptor stays cheap and
   * free of import cycles.
   */
  readonly integration?: () => Type<unknown> | DynamicModule;
  /** Local simulator hooks (never used in production). */
  readonly simulator: {
    /** Points the `simulator` environment at the running simulator, unless configured already. */
    configure(settings: Environment, urls: SimulatorUrls): void;
  };
}
