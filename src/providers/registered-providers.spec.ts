import { PATH_METADATA } from '@nestjs/common/constants';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { CREDENTIAL_KINDS } from '../credentials/domain/credential';
import { isExpressibleReversal, PAYOUT_STATUSES } from '../payouts/domain/payout';
import type { CredentialedHttp } from './http/credentialed-http';
import type { ProviderDescriptor } from './provider-descriptor';
import { PROVIDER_DESCRIPTORS } from './registered-providers';

/**
 * The descriptor contract (docs/adding-a-provider.md): every registered provider declares what
 * the rest of the application needs, consistently, and its name stays inside its own folder.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const descriptors: ProviderDescriptor[] = [...PROVIDER_DESCRIPTORS];

const variablesOf = (settingsClass: new () => object): string[] => [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(settingsClass, '', true, false)
      .map((rule) => rule.propertyName),
  ),
];

/** A stand-in for the HTTP client: building a client must not call anything. */
const inertHttp = new Proxy({} as CredentialedHttp, {
  get: (_target, property) => {
    throw new Error(`createClient used http.${String(property)} while building the client`);
  },
});

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const full = path.join(directory, entry);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

describe('registered providers', () => {
  it('have unique, lower-case ids and unique webhook routes', () => {
    const ids = descriptors.map((descriptor) => descriptor.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9]{1,30}$/);
    const routes = descriptors.flatMap((descriptor) =>
      descriptor.webhook.kind === 'route' ? [descriptor.webhook.route] : [],
    );
    expect(new Set(routes).size).toBe(routes.length);
  });

  describe.each(descriptors.map((descriptor) => [descriptor.id, descriptor] as const))('%s', (id, descriptor) => {
    const variables = variablesOf(descriptor.settings);
    const prefix = `${id.toUpperCase()}_`;

    it('lives in its own folder with a client, a mapper, settings and a simulator', () => {
      for (const file of ['descriptor', 'provider', 'mapper', 'settings', 'module']) {
        expect(existsSync(path.join(ROOT, 'src', 'providers', id, `${id}.${file}.ts`))).toBe(true);
      }
      expect(existsSync(path.join(ROOT, 'src', 'simulators', id))).toBe(true);
    });

    it('declares its environments, a simulator among them, and which are live', () => {
      expect(descriptor.environments.length).toBeGreaterThan(1);
      expect(descriptor.environments).toContain('simulator');
      expect(descriptor.liveEnvironments.length).toBeGreaterThan(0);
      for (const live of descriptor.liveEnvironments) expect(descriptor.environments).toContain(live);
      expect(descriptor.liveEnvironments).not.toContain('simulator');
    });

    it('reads only variables of its own, prefixed with its id', () => {
      expect(variables.length).toBeGreaterThan(0);
      for (const variable of variables) expect(variable.startsWith(prefix)).toBe(true);
    });

    it('configures a host for every environment and host family, from its own validated variables', () => {
      for (const environment of descriptor.environments) {
        const hosts = (descriptor.baseUrls as Record<string, Record<string, { variable: string; default?: string }>>)[
          environment
        ];
        expect(Object.keys(hosts ?? {}).sort()).toEqual([...descriptor.hostFamilies].sort());
        for (const setting of Object.values(hosts)) {
          expect(variables).toContain(setting.variable);
          if (setting.default !== undefined) expect(setting.default).toMatch(/^https:\/\/[^\s/]+$/);
        }
        // The simulator runs locally on known ports: `npm start` works with no configuration.
        if (environment === 'simulator')
          for (const setting of Object.values(hosts)) expect(setting.default).toBeDefined();
      }
    });

    it('points its simulator environment at the running simulator, without overriding configuration', () => {
      const urls = new Proxy(
        {},
        {
          get: (_target, key) => `https://127.0.0.1:9/${String(key)}`,
        },
      );
      const settings: Record<string, unknown> = {};
      descriptor.simulator.configure(settings as never, urls);
      const simulatorHosts = Object.values(
        (descriptor.baseUrls as Record<string, Record<string, { variable: string }>>).simulator,
      );
      for (const { variable } of simulatorHosts) expect(settings[variable]).toMatch(/^https:\/\/127\.0\.0\.1:9\//);

      const configured: Record<string, unknown> = Object.fromEntries(
        simulatorHosts.map(({ variable }) => [variable, 'https://configured.example']),
      );
      descriptor.simulator.configure(configured as never, urls);
      for (const { variable } of simulatorHosts) expect(configured[variable]).toBe('https://configured.example');
    });

    it('builds a client per environment that says who it is and what it can do', () => {
      for (const environment of descriptor.environments) {
        const client = descriptor.createClient(environment, {
          http: inertHttp,
          settings: {} as never,
          resolve: () => ({}) as never,
        });
        expect(client.provider).toBe(id);
        expect(client.environment).toBe(environment);
        expect(client.capabilities).toEqual(descriptor.capabilities);
      }
      expect(descriptor.capabilities.payouts.create).toBe(true);
      expect(descriptor.capabilities.payouts.status).toBe(true);
    });

    it('pays to one rail, validated by its beneficiary DTO', () => {
      expect(descriptor.beneficiaryDto.name).toMatch(/BeneficiaryDto$/);
      const typeRules = getMetadataStorage()
        .getTargetValidationMetadatas(descriptor.beneficiaryDto, '', true, false)
        .filter((rule) => rule.propertyName === 'type' && rule.name === 'isIn');
      expect(typeRules.map((rule) => rule.constraints[0])).toEqual([[descriptor.rail]]);
    });

    it('maps every status it documents into the domain, and says what an unknown one means', () => {
      const states = ['pending', 'processing', 'completed', 'rejected', 'cancelled', 'on_hold', 'failed'];
      expect(Object.keys(descriptor.statusTable).length).toBeGreaterThan(2);
      for (const state of Object.values(descriptor.statusTable)) expect(states).toContain(state);
      expect(Object.values(descriptor.statusTable)).toContain('completed');
      expect([...states, 'protocol_error']).toContain(descriptor.unknownStatus);
      // An unknown status is never taken as final: a payout is only settled by a status the provider documents.
      expect(['completed', 'rejected', 'cancelled', 'failed']).not.toContain(descriptor.unknownStatus);
    });

    it('uses known credential kinds and only reversals the state machine can express', () => {
      expect(descriptor.credentialKinds.length).toBeGreaterThan(0);
      for (const kind of descriptor.credentialKinds) expect(CREDENTIAL_KINDS).toContain(kind);
      for (const reversal of descriptor.reversals) {
        expect(PAYOUT_STATUSES).toContain(reversal.from);
        expect(isExpressibleReversal(reversal)).toBe(true);
        expect(reversal.source.length).toBeGreaterThan(10);
      }
    });

    it('receives notifications the way it declares, served by its own integration module', () => {
      const module = descriptor.integration?.();
      expect(module).toBeDefined();
      const controllers = (module as { routes?: Array<new () => unknown> }).routes ?? [];
      const paths = controllers.map((controller) => String(Reflect.getMetadata(PATH_METADATA, controller)));
      expect(descriptor.capabilities.webhooks.verify).toBe(descriptor.webhook.kind !== 'none');
      if (descriptor.webhook.kind === 'route') {
        expect(paths).toContain(`v1/webhooks/${descriptor.webhook.route}`);
        if (descriptor.webhook.allowedSourcesVariable)
          expect(variables).toContain(descriptor.webhook.allowedSourcesVariable);
      }
      if (descriptor.webhook.kind === 'listener') expect(variables).toContain(descriptor.webhook.portVariable);
      // Its onboarding routes sit under its own name (or act on one credential by id).
      for (const routePath of paths.filter((p) => p.startsWith('v1/credentials/')))
        expect(routePath.startsWith(`v1/credentials/${id}`)).toBe(true);
      expect(paths.some((routePath) => routePath.startsWith(`v1/credentials/${id}`))).toBe(true);
    });
  });

  it('keep their names inside their own folders: outside them, only the list of registered providers names one', () => {
    const names = descriptors.map((descriptor) => descriptor.id);
    const pattern = new RegExp(`\\b(${names.join('|')})\\b`, 'i');
    const allowed = [
      ...names.map((name) => path.join('src', 'providers', name) + path.sep),
      path.join('src', 'simulators') + path.sep,
      path.join('src', 'demo') + path.sep,
      path.join('src', 'providers', 'registered-providers.ts'),
      // This contract test itself.
      path.join('src', 'providers', 'registered-providers.spec.ts'),
    ];
    const offenders = filesUnder(path.join(ROOT, 'src'))
      .map((file) => path.relative(ROOT, file))
      .filter((file) => file.endsWith('.ts') && !allowed.some((prefix) => file === prefix || file.startsWith(prefix)))
      .filter((file) => pattern.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
