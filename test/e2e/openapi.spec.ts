import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import { generateOpenApiDocument, serializeOpenApi } from '../../src/openapi/generate';
import type { TestApp } from '../support/test-app';
import { startTestApp } from '../support/test-app';

describe('OpenAPI and Swagger UI', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('the committed openapi.json is what the code produces (run `npm run openapi` after changing the API)', async () => {
    const committed = readFileSync(path.join(projectRoot(), 'openapi.json'), 'utf8');
    expect(serializeOpenApi(await generateOpenApiDocument())).toBe(committed);
  });

  it('serves Swagger UI at /docs and the same document at /docs-json, without an API key', async () => {
    const ui = await t.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const json = await t.http.get('/docs-json');
    expect(json.status).toBe(200);
    expect(json.body).toEqual(JSON.parse(readFileSync(path.join(projectRoot(), 'openapi.json'), 'utf8')));
  });

  it('wires bearer auth to the Authorize button and keeps it across reloads', async () => {
    const document = (await t.http.get('/docs-json')).body;
    expect(document.components.securitySchemes['api-key']).toMatchObject({ type: 'http', scheme: 'bearer' });
    const init = await t.http.get('/docs/swagger-ui-init.js');
    expect(init.text).toContain('"persistAuthorization": true');
  });

  it('documents every operation, and every one outside /health refuses a caller without credentials (401)', async () => {
    const document = (await t.http.get('/docs-json')).body as {
      paths: Record<string, Record<string, { summary?: string; security?: unknown[]; responses: object }>>;
    };
    let checked = 0;
    for (const [route, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.summary).toBeTruthy();
        if (route.startsWith('/health')) continue;
        // Webhooks carry no API key: each provider's own proof (signature, token) is checked instead.
        if (!route.startsWith('/v1/webhooks/')) expect(operation.security).toEqual([{ 'api-key': [] }]);
        const url = route.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
        const response = await (
          t.http as unknown as Record<
            string,
            (url: string) => Promise<{ status: number; body: { error: { code: string } } }>
          >
        )[method](url);
        expect([method, route, response.status]).toEqual([method, route, 401]);
        expect(response.body.error.code).toBe('UNAUTHENTICATED');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });
});
