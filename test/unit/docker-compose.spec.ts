import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { environmentVariableNames, loadEnvironment } from '../../src/config/environment';
import { projectRoot } from '../../src/config/paths';

/** No Docker engine runs here, so the compose file and Dockerfile are checked by reading them. */
describe('docker-compose.yml and Dockerfile', () => {
  const read = (file: string) => readFileSync(path.join(projectRoot(), file), 'utf8');
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, Record<string, unknown>>;
    volumes: Record<string, unknown>;
  };

  it('runs postgres with a health check and a named volume', () => {
    const postgres = compose.services.postgres as {
      image: string;
      environment: Record<string, string>;
      volumes: string[];
      healthcheck: { test: string[] };
    };
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.healthcheck.test.join(' ')).toContain('pg_isready');
    const [volume, target] = postgres.volumes[0].split(':');
    expect(target).toBe('/var/lib/postgresql/data');
    expect(compose.volumes).toHaveProperty(volume);
  });

  it('builds the app from the Dockerfile and wires it to postgres by DATABASE_URL once postgres is healthy', () => {
    const app = compose.services.app as {
      build: string;
      depends_on: Record<string, { condition: string }>;
      environment: Record<string, string | number>;
      ports: string[];
    };
    expect(app.build).toBe('.');
    expect(app.depends_on.postgres.condition).toBe('service_healthy');
    const postgres = compose.services.postgres as { environment: Record<string, string> };
    const url = new URL(String(app.environment.DATABASE_URL).replace(/\$\{POSTGRES_PASSWORD:-([^}]+)\}/, '$1'));
    expect(url.hostname).toBe('postgres');
    expect(url.username).toBe(postgres.environment.POSTGRES_USER);
    expect(url.pathname).toBe(`/${postgres.environment.POSTGRES_DB}`);
    expect(app.ports).toContain(`${app.environment.PORT}:${app.environment.PORT}`);
  });

  it("passes the app's configuration validation in production mode", () => {
    const app = compose.services.app as { environment: Record<string, string | number> };
    const names = environmentVariableNames();
    for (const name of Object.keys(app.environment)) expect(names).toContain(name);
    const resolved = Object.fromEntries(
      Object.entries(app.environment).map(([name, value]) => [
        name,
        String(value)
          .replace(/\$\{[A-Z_]+:-([^}]+)\}/g, '$1')
          .replace(/\$\{CREDENTIALS_MASTER_KEY:\?[^}]+\}/, Buffer.alloc(32, 1).toString('base64'))
          .replace(/\$\{ADMIN_API_KEY:\?[^}]+\}/, 'a'.repeat(40)),
      ]),
    );
    expect(loadEnvironment(resolved).isProduction).toBe(true);
  });

  it('the Dockerfile builds with the lockfile and runs the compiled entry point as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json/);
    // The production build: no simulators, no demo seeding, no specs (test/unit/production-build.spec.ts).
    expect(dockerfile).toMatch(/npx tsc -p tsconfig\.prod\.json/);
    expect(dockerfile).toMatch(/find dist .*\.spec\.js.* -delete/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/src\/main\.js"\]/);
    for (const folder of ['src', 'scripts', 'migrations']) expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
  });

  it('keeps the simulators, the demo seeding, tests and specs out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['src/simulators', 'src/demo', 'test', 'bench', '**/*.spec.ts', 'node_modules', '.env'])
      expect(ignored).toContain(entry);
  });
});
