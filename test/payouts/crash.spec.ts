import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import { DemoSeed } from '../../src/demo/demo-seed';
import type { RunningSimulators } from '../../src/simulators/simulators';
import type { TestDatabase } from '../support/database';
import { createTestDatabase } from '../support/database';
import { checkD24Ledger, pool, settle } from '../support/ledger-check';
import { startTestSimulators } from '../support/sim-client';
import { randomAdminKey, startTestApp, TEST_MASTER_KEY } from '../support/test-app';
import { DataSource } from 'typeorm';

const main = path.join(projectRoot(), 'dist', 'src', 'main.js');
const beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'Ana',
  documentId: '84932568207',
  bankCode: 1,
  bankAccount: '55555',
  bankBranch: '0001',
  accountType: 'C',
};

/**
 * The compiled service is killed with SIGKILL in the middle of 300 payouts, started again, and
 * left to reconcile: every cashout the simulator accepted has exactly one payout in the same final
 * state, and every payout it never saw has failed. Nothing lost, nothing paid twice.
 */
describe('crash in the middle of 300 payouts, and in the middle of approvals', () => {
  let sims: RunningSimulators;
  let database: TestDatabase;
  let dir: string;
  const adminKey = randomAdminKey();
  const children: ChildProcessWithoutNullStreams[] = [];

  beforeAll(async () => {
    if (!existsSync(main)) execFileSync('npx', ['nest', 'build'], { cwd: projectRoot(), stdio: 'ignore' });
    sims = await startTestSimulators(31);
    database = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'pbt-crash-'));
    writeFileSync(path.join(dir, 'ca.pem'), sims.serverCaPem);
    const seeder = await startTestApp({
      database,
      env: { D24_SIMULATOR_URL: sims.urls.d24, PROVIDER_CA_FILE: path.join(dir, 'ca.pem') },
    });
    await new DemoSeed(
      seeder.app,
      { urls: sims.urls, serverCaFile: path.join(dir, 'ca.pem') },
      'http://127.0.0.1:9',
    ).run();
    await seeder.close();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sims.stop();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
    const child = spawn(process.execPath, [main], {
      cwd: projectRoot(),
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        PORT: '0',
        SIMULATORS: 'off',
        DATA_DIR: dir,
        LOG_LEVEL: 'info',
        ADMIN_API_KEY: adminKey,
        CREDENTIALS_MASTER_KEY: TEST_MASTER_KEY,
        D24_SIMULATOR_URL: sims.urls.d24,
        PROVIDER_CA_FILE: path.join(dir, 'ca.pem'),
        RECONCILE_INTERVAL_MS: '200',
        PROVIDER_CONNECT_TIMEOUT_MS: '500',
        PROVIDER_RESPONSE_TIMEOUT_MS: '800',
        PROVIDER_CIRCUIT_FAILURES: '1000',
      },
    });
    children.push(child);
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 30 s:\n${output}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /is listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve({ child, url: match[1] });
        }
      });
    });
  }

  it('ends with every accepted cashout matched to one payout and the rest failed', async () => {
    const first = await start();
    // Slow the simulator a little so that the kill lands while calls are in flight.
    await fetch(`${sims.urls.admin}/d24/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ route: 'POST /v3/cashout', settings: { latencyMs: 30 } }),
    });
    let answered = 0;
    const keys = Array.from({ length: 300 }, () => randomUUID());
    const send = (url: string, i: number) =>
      fetch(`${url}/v1/payouts`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${adminKey}`,
          'Idempotency-Key': keys[i],
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({
          provider: 'd24',
          environment: 'simulator',
          amount: '10.00',
          currency: 'BRL',
          beneficiary,
          reference: `crash-${i}`,
        }),
      });
    const requests = pool(300, 20, async (i) => {
      const response = await send(first.url, i);
      answered++;
      return response.status;
    });
    while (answered < 100) await new Promise((resolve) => setTimeout(resolve, 5));
    first.child.kill('SIGKILL');
    const results = await requests;
    const lost = results.filter((r) => r.status === 'rejected').length;
    expect(lost).toBeGreaterThan(0); // the kill really interrupted requests

    await fetch(`${sims.urls.admin}/d24/faults`, { method: 'DELETE' });
    const second = await start();
    const dataSource = new DataSource({ type: 'postgres', url: database.url });
    await dataSource.initialize();
    try {
      // Clients retry what got no answer, with the same Idempotency-Key. A first attempt that died
      // with its process is taken over at once (its liveness lock is gone), not after a long wait.
      const unanswered = results.flatMap((result, i) => (result.status === 'rejected' ? [i] : []));
      const retried = await pool(unanswered.length, 20, async (n) => {
        const startedAt = Date.now();
        const response = await send(second.url, unanswered[n]);
        return { status: response.status, ms: Date.now() - startedAt };
      });
      const answers = retried.map((result) =>
        result.status === 'fulfilled' ? result.value : { status: 0, ms: Infinity },
      );
      expect(answers.filter((answer) => answer.status !== 201)).toEqual([]);
      // Was 30 s (REPLAY_WAIT_MS) for the in-flight ones; well under a 15 s client timeout now, on 2 loaded cores.
      expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(10_000);

      await settle(dataSource, 'crash-', 30_000);
      const summary = await checkD24Ledger(dataSource, sims, 'crash-');
      expect(summary.payouts).toBeGreaterThanOrEqual(100);
      expect(summary.accepted + summary.failed).toBe(summary.payouts);
    } finally {
      await dataSource.destroy();
      second.child.kill('SIGTERM');
    }
  }, 120_000);
  it('after a SIGKILL among approvals, no payout was sent without its approval and every approved one is sent', async () => {
    const first = await start();
    const call = (url: string, key: string, method: string, route: string, body?: unknown, headers = {}) =>
      fetch(`${url}${route}`, {
        method,
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const newKey = async (name: string, scopes: string[]) => {
      const response = await call(first.url, adminKey, 'POST', '/v1/api-keys', {
        name,
        owner: `${name}@acme.example`,
        scopes,
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { id: string; key: string };
    };
    const maker = await newKey('maker', ['payouts:read', 'payouts:write']);
    const checker = await newKey('checker', ['payouts:read', 'payouts:approve']);
    const policies = await call(first.url, adminKey, 'PUT', '/v1/payout-policies', {
      policies: [{ currency: 'BRL', apiKeyId: maker.id, approval: { everyPayout: true } }],
    });
    expect(policies.status).toBe(200);
    const created = await pool(120, 10, async (i) => {
      const response = await call(
        first.url,
        maker.key,
        'POST',
        '/v1/payouts',
        {
          provider: 'd24',
          environment: 'simulator',
          amount: '10.00',
          currency: 'BRL',
          beneficiary,
          reference: `approval-crash-${i}`,
        },
        { 'Idempotency-Key': randomUUID() },
      );
      return (await response.json()) as { id: string; status: string };
    });
    const ids = created.map((result) => (result.status === 'fulfilled' ? result.value : null));
    expect(ids.map((payout) => payout?.status)).toEqual(Array(120).fill('pending_approval'));
    const approvedIds = ids.flatMap((payout, i) => (i % 2 === 0 && payout ? [payout.id] : []));
    const unapprovedIds = ids.flatMap((payout, i) => (i % 2 === 1 && payout ? [payout.id] : []));

    // Slow the simulator so that the kill lands while approved payouts are being sent.
    await fetch(`${sims.urls.admin}/d24/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ route: 'POST /v3/cashout', settings: { latencyMs: 30 } }),
    });
    let answered = 0;
    const approve = (url: string, id: string) => call(url, checker.key, 'POST', `/v1/payouts/${id}/approve`, {});
    const approvals = pool(approvedIds.length, 10, async (n) => {
      const response = await approve(first.url, approvedIds[n]);
      answered++;
      return response.status;
    });
    while (answered < 15) await new Promise((resolve) => setTimeout(resolve, 5));
    first.child.kill('SIGKILL');
    const results = await approvals;
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);

    await fetch(`${sims.urls.admin}/d24/faults`, { method: 'DELETE' });
    const second = await start();
    const dataSource = new DataSource({ type: 'postgres', url: database.url });
    await dataSource.initialize();
    try {
      // The checker retries the approvals that got no answer; one that committed before the kill answers as it is.
      const unanswered = results.flatMap((result, n) => (result.status === 'rejected' ? [approvedIds[n]] : []));
      const retried = await pool(unanswered.length, 10, async (n) => (await approve(second.url, unanswered[n])).status);
      expect(retried.map((r) => (r.status === 'fulfilled' ? r.value : 0))).toEqual(Array(unanswered.length).fill(200));

      const deadline = Date.now() + 30_000;
      for (;;) {
        const [{ open }] = await dataSource.query(
          `SELECT count(*)::int AS open FROM payouts WHERE id = ANY($1::uuid[]) AND status NOT IN ('completed', 'failed', 'rejected', 'cancelled')`,
          [approvedIds],
        );
        if (open === 0) break;
        if (Date.now() > deadline) throw new Error(`${open} approved payouts still open after 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const ledger = new Set(
        ((await (await fetch(`${sims.urls.admin}/d24/ledger`)).json()) as Array<{ externalId: string }>).map(
          (entry) => entry.externalId,
        ),
      );
      // Never sent without its approval…
      expect(unapprovedIds.filter((id) => ledger.has(id))).toEqual([]);
      const [{ sentWithoutApproval }] = await dataSource.query(
        `SELECT count(*)::int AS "sentWithoutApproval" FROM payouts p WHERE p.reference LIKE 'approval-crash-%'
           AND p.status NOT IN ('pending_approval', 'cancelled')
           AND (SELECT count(*) FROM payout_approvals a WHERE a.payout_id = p.id AND a.decision = 'approved') < p.approvals_required`,
      );
      expect(sentWithoutApproval).toBe(0);
      // …and every approved one was sent, crash or not.
      expect(approvedIds.filter((id) => !ledger.has(id))).toEqual([]);
      const [{ pending }] = await dataSource.query(
        `SELECT count(*)::int AS pending FROM payouts WHERE id = ANY($1::uuid[]) AND status = 'pending_approval'`,
        [unapprovedIds],
      );
      expect(pending).toBe(unapprovedIds.length);
    } finally {
      await dataSource.destroy();
      second.child.kill('SIGTERM');
    }
  }, 120_000);

  it('after a SIGKILL mid-batch, the restarted service finishes the batch: every row paid exactly once', async () => {
    const first = await start();
    const rows = Array.from(
      { length: 300 },
      (_, i) =>
        `row-${i},d24,simulator,10.00,BRL,batch-crash-${i},latam_bank_account,BR,Ana,84932568207,1,55555,0001,C`,
    );
    const csv = [
      'rowKey,provider,environment,amount,currency,reference,beneficiary.type,beneficiary.country,beneficiary.name,beneficiary.documentId,beneficiary.bankCode,beneficiary.bankAccount,beneficiary.bankBranch,beneficiary.accountType',
      ...rows,
    ].join('\r\n');
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'crash.csv');
    // Slow the simulator a little so that the kill lands while rows are being sent.
    await fetch(`${sims.urls.admin}/d24/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ route: 'POST /v3/cashout', settings: { latencyMs: 30 } }),
    });
    const uploaded = await fetch(`${first.url}/v1/payout-batches/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey}`, 'Idempotency-Key': randomUUID() },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const batch = (await uploaded.json()) as { id: string; itemCount: number };
    expect(batch.itemCount).toBe(300);
    const dataSource = new DataSource({ type: 'postgres', url: database.url });
    await dataSource.initialize();
    let second: { child: ChildProcessWithoutNullStreams; url: string } | undefined;
    try {
      const submitted = async () =>
        (
          await dataSource.query<Array<{ n: number }>>(
            `SELECT count(*)::int AS n FROM payout_batch_items WHERE batch_id = $1 AND status = 'submitted'`,
            [batch.id],
          )
        )[0].n;
      while ((await submitted()) < 60) await new Promise((resolve) => setTimeout(resolve, 10));
      first.child.kill('SIGKILL');
      const beforeRestart = await submitted();
      expect(beforeRestart).toBeLessThan(300); // the kill really interrupted the batch

      await fetch(`${sims.urls.admin}/d24/faults`, { method: 'DELETE' });
      second = await start();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [{ status }] = await dataSource.query<Array<{ status: string }>>(
          `SELECT status FROM payout_batches WHERE id = $1`,
          [batch.id],
        );
        if (status !== 'processing') {
          expect(status).toBe('completed');
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`batch still processing after 60 s (${await submitted()} rows sent)`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // One payout per row, none paid twice, each in the state the provider has for it.
      const summary = await checkD24Ledger(dataSource, sims, 'batch-crash-');
      expect(summary.payouts).toBe(300);
      const [{ rows: linked, payouts }] = await dataSource.query<Array<{ rows: number; payouts: number }>>(
        `SELECT count(*)::int AS rows, count(DISTINCT payout_id)::int AS payouts FROM payout_batch_items WHERE batch_id = $1`,
        [batch.id],
      );
      expect([linked, payouts]).toEqual([300, 300]);
    } finally {
      await dataSource.destroy();
      second?.child.kill('SIGTERM');
    }
  }, 120_000);
});
