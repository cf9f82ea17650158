/** npm run openapi: writes openapi.json from the code. A test fails when the committed file differs. */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config/paths';
import { generateOpenApiDocument, serializeOpenApi } from '../src/openapi/generate';

generateOpenApiDocument()
  .then((document) => {
    const file = path.join(projectRoot(), 'openapi.json');
    writeFileSync(file, serializeOpenApi(document));
    process.stdout.write(`wrote ${file}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
