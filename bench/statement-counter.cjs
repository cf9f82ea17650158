/**
 * Preloaded into the API by the bench (node --require): counts the SQL statements the API sends
 * through node-postgres, so the bench can report statements per payout next to the floor's. On
 * SIGUSR2 it writes "<signal time> <statements so far>" to BENCH_STATEMENT_COUNT_FILE. A counter
 * increment per statement: nothing the measurement would notice. Never loaded outside the bench.
 */
'use strict';
const Module = require('node:module');
const { writeFileSync } = require('node:fs');

let statements = 0;
const load = Module._load;
Module._load = function loadCounted(request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  if (request === 'pg' && loaded && loaded.Client && !loaded.Client.prototype.benchCounted) {
    const query = loaded.Client.prototype.query;
    loaded.Client.prototype.query = function countedQuery(...args) {
      statements += 1;
      return query.apply(this, args);
    };
    loaded.Client.prototype.benchCounted = true;
  }
  return loaded;
};

process.on('SIGUSR2', () => {
  if (process.env.BENCH_STATEMENT_COUNT_FILE)
    writeFileSync(process.env.BENCH_STATEMENT_COUNT_FILE, `${Date.now()} ${statements}`);
});
