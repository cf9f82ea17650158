import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { projectRoot } from '../../src/config/paths';
import { brazilianAccount } from '../support/beneficiaries';
import { admin } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';

/**
 * The operator journey in a real browser: Swagger UI at /docs in headless Chromium (Debian's
 * package; no browser downloads). Skipped with a message when Chromium is not installed; .ci/run
 * installs it so CI always runs it. Screenshots go to test/artifacts/ (git-ignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = path.join(projectRoot(), 'test', 'artifacts');
const available = existsSync(CHROMIUM);
const describeIfChromium = available ? describe : describe.skip;
if (!available) {
  process.stderr.write(
    `\n[swagger-journey] skipped: Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).\n`,
  );
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describeIfChromium('the operator journey in Swagger UI (headless Chromium)', () => {
  let world: ProviderWorld;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    world = await startProviderWorld({}, 41, { seedCredentials: false });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${world.baseUrl}/docs`);
    await page.waitForSelector('.swagger-ui .info');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  let last: ReturnType<Page['locator']> | undefined;
  /** The operation's answer as the operator sees it (the whole page before any operation ran). */
  const shot = async (name: string) => {
    const file = path.join(artifacts, `${name}.png`);
    if (last) await last.locator('.live-responses-table tr.response').first().screenshot({ path: file });
    else await page.screenshot({ path: file });
  };

  /** Opens an operation, presses "Try it out", fills it like an operator would, executes, reads the answer. */
  async function tryIt(
    tag: string,
    operationId: string,
    input: { params?: Record<string, string>; body?: unknown } = {},
  ): Promise<Answer> {
    const block = page.locator(`#operations-${tag}-${operationId}`);
    await block.scrollIntoViewIfNeeded();
    if (
      !(await block
        .locator('.opblock-body')
        .isVisible()
        .catch(() => false))
    )
      await block.locator('.opblock-summary').first().click();
    // After a first execution the block also shows a Reset button with the same class.
    const tryOut = block.locator('button.try-out__btn').first();
    if ((await tryOut.textContent())?.includes('Try it out')) await tryOut.click();
    for (const [name, value] of Object.entries(input.params ?? {})) {
      await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
    }
    if (input.body !== undefined)
      await block.locator('textarea.body-param__text').fill(JSON.stringify(input.body, null, 2));
    await block.locator('button.execute').click();
    const status = block.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(100);
    const code = Number((await status.textContent())?.trim());
    const text =
      (await block
        .locator(
          '.live-responses-table .response-col_description pre.microlight, .live-responses-table .response-col_description .microlight',
        )
        .first()
        .textContent()) ?? '{}';
    last = block;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: code, body };
  }

  it('authorizes, onboards Verestro, D24 and checks a ConnectPay chain, then pays out until completed', async () => {
    // 1. Authorize with the admin API key.
    await page.locator('button.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(world.t.adminKey);
    await page.locator('.modal-ux button.authorize').first().click();
    await page.locator('.modal-ux button.btn-done').first().click();
    await shot('01-authorize');

    // 2. Generate a Verestro CSR with the examples Swagger UI shows.
    const csr = await tryIt('Credentials', 'Credentials_createVerestroCsr', {
      body: {
        environment: 'simulator',
        country: 'US',
        state: 'Florida',
        locality: 'Miami',
        organization: 'SomeCompany',
        companyName: 'SomeCompany',
        applicationName: 'Payouts',
        email: 'security@example.com',
        keyBits: 2048,
      },
    });
    expect(csr.status).toBe(201);
    expect(csr.body.commonName).toBe('V-SBX-Somecompany-Payouts');
    await shot('02-verestro-csr');

    // 3. Verestro signs it (the e-mail exchange, stood in for by the simulator); import the certificate.
    const signed = (
      await admin<{ certificatePem: string; caPem: string }>(world.sims, 'POST', '/verestro/csr', {
        csrPem: csr.body.csrPem,
      })
    ).body;
    const credentialId = (csr.body.credential as { id: string }).id;
    const imported = await tryIt('Credentials', 'Credentials_importCertificate', {
      params: { id: credentialId },
      body: { certificatePem: signed.certificatePem, caPem: signed.caPem },
    });
    expect([imported.status, imported.body.status]).toEqual([200, 'active']);
    await shot('03-verestro-certificate');

    // 4. Register the D24 keys (the same ones the D24 simulator knows).
    const keys = {
      apiKey: 'demo' + randomBytes(6).toString('hex'),
      apiPassphrase: randomBytes(10).toString('hex'),
      apiSignature: randomBytes(20).toString('hex'),
    };
    await admin(world.sims, 'PUT', '/d24/merchants', keys);
    const d24 = await tryIt('Credentials', 'Credentials_storeD24Keys', { body: { environment: 'simulator', ...keys } });
    expect([d24.status, d24.body.status]).toEqual([201, 'active']);
    await shot('04-d24-keys');

    // 5. A ConnectPay chain pasted in the wrong order: the check shows the finding.
    const chain = (
      await admin<{ chainPem: string }>(world.sims, 'POST', '/connectpay/chains', { commonName: 'journey.example.com' })
    ).body.chainPem;
    const certificates = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    const check = await tryIt('Credentials', 'Credentials_checkConnectPayChain', {
      body: { environment: 'simulator', chainPem: [...certificates].reverse().join('') },
    });
    expect(check.status).toBe(200);
    expect((check.body.findings as Array<{ code: string }>).map((f) => f.code)).toContain('WRONG_ORDER');
    await shot('05-connectpay-chain-check');

    // 6. Create a payout with "Try it out".
    const payout = await tryIt('Payouts', 'Payouts_create', {
      params: { 'Idempotency-Key': randomUUID() },
      body: {
        provider: 'd24',
        environment: 'simulator',
        amount: '150.75',
        currency: 'BRL',
        beneficiary: brazilianAccount(),
        reference: 'invoice-2026-0042',
      },
    });
    expect(payout.status).toBe(201);
    await shot('06-payout-created');

    // 7. Fetch it until it is completed.
    let current = payout;
    for (let attempt = 0; attempt < 40 && current.body.status !== 'completed'; attempt++) {
      await page.waitForTimeout(250);
      current = await tryIt('Payouts', 'Payouts_get', { params: { id: String(payout.body.id) } });
    }
    expect(current.body.status).toBe('completed');
    await shot('07-payout-completed');
  }, 120_000);
  /** Logs out of Swagger UI's authorization and in again with another key (as a second operator would). */
  async function authorizeAs(apiKey: string): Promise<void> {
    await page.locator('button.authorize').first().click();
    const logout = page.locator('.modal-ux button', { hasText: 'Logout' });
    if (await logout.count()) await logout.first().click();
    await page.locator('.modal-ux input').first().fill(apiKey);
    await page.locator('.modal-ux button.authorize').first().click();
    await page.locator('.modal-ux button.btn-done').first().click();
  }

  it('stores a beneficiary, holds a payout over the threshold for approval, approves it with a second key; a rejected one is never sent', async () => {
    // (The first test authorized with the admin key and stored D24's keys.)
    const beneficiary = await tryIt('Beneficiaries', 'Beneficiaries_create', {
      body: {
        label: 'supplier 42',
        beneficiary: {
          type: 'latam_bank_account',
          country: 'BR',
          name: 'José',
          lastName: 'Müller',
          documentId: '52998224725',
          documentType: 'CPF',
          bankCode: 1,
          bankAccount: '555000111',
          bankBranch: '0001',
          accountType: 'C',
        },
      },
    });
    expect(beneficiary.status).toBe(201);
    await shot('08-beneficiary-stored');

    const policies = await tryIt('Payout_policies', 'PayoutPolicies_replace', {
      body: { policies: [{ currency: 'BRL', approval: { atOrAbove: '1000.00', requiredApprovals: 1 } }] },
    });
    expect(policies.status).toBe(200);
    await shot('09-policy-set');

    const checker = await tryIt('API_keys', 'ApiKeys_create', {
      body: { name: 'checker', owner: 'checker@acme.example', scopes: ['payouts:read', 'payouts:approve'] },
    });
    expect(checker.status).toBe(201);

    const pay = (reference: string) =>
      tryIt('Payouts', 'Payouts_create', {
        params: { 'Idempotency-Key': randomUUID() },
        body: {
          provider: 'd24',
          environment: 'simulator',
          amount: '2500.00',
          currency: 'BRL',
          beneficiaryId: beneficiary.body.id,
          reference,
        },
      });
    const held = await pay('invoice-2026-0043');
    expect([held.status, held.body.status]).toEqual([201, 'pending_approval']);
    await shot('10-payout-pending-approval');
    const refused = await pay('invoice-2026-0044');
    expect(refused.body.status).toBe('pending_approval');

    // The creator (the admin key) cannot approve its own payout.
    const own = await tryIt('Payouts', 'Payouts_approve', { params: { id: String(held.body.id) }, body: {} });
    expect([own.status, (own.body.error as { code: string }).code]).toEqual([403, 'APPROVER_IS_CREATOR']);
    await shot('11-creator-cannot-approve');

    await authorizeAs(String(checker.body.key));
    const approved = await tryIt('Payouts', 'Payouts_approve', {
      params: { id: String(held.body.id) },
      body: { comment: 'invoice 43 checked' },
    });
    expect(approved.status).toBe(200);
    await shot('12-payout-approved');
    const rejected = await tryIt('Payouts', 'Payouts_reject', {
      params: { id: String(refused.body.id) },
      body: { comment: 'duplicate of invoice 43' },
    });
    expect([rejected.status, rejected.body.status]).toEqual([200, 'cancelled']);
    await shot('13-payout-rejected');

    let current = approved;
    for (let attempt = 0; attempt < 40 && current.body.status !== 'completed'; attempt++) {
      await page.waitForTimeout(250);
      current = await tryIt('Payouts', 'Payouts_get', { params: { id: String(held.body.id) } });
    }
    expect(current.body.status).toBe('completed');
    await shot('14-approved-payout-completed');
    const ledger = new Set(
      (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.map(
        (entry) => entry.externalId,
      ),
    );
    expect(ledger.has(String(held.body.id))).toBe(true);
    expect(ledger.has(String(refused.body.id))).toBe(false);
  }, 180_000);

  it('uploads a CSV batch from the "Try it out" form and follows it until every row is completed', async () => {
    // (The test before left the checker authorized, and a policy holding BRL payouts of 1000.00 or more.)
    await authorizeAs(world.t.adminKey);
    const csv = [
      'rowKey,provider,environment,amount,currency,reference,beneficiary.type,beneficiary.country,beneficiary.name,beneficiary.documentId,beneficiary.bankCode,beneficiary.bankAccount,beneficiary.bankBranch,beneficiary.accountType',
      ...[1, 2, 3].map(
        (i) =>
          `journey-${i},d24,simulator,${i}0.00,BRL,batch row ${i},latam_bank_account,BR,Ana,84932568207,1,77700${i},0001,C`,
      ),
    ].join('\r\n');
    const block = page.locator('#operations-Payout_batches-Batches_upload');
    await block.scrollIntoViewIfNeeded();
    await block.locator('.opblock-summary').first().click();
    await block.locator('button.try-out__btn').first().click();
    await block.locator('tr[data-param-name="Idempotency-Key"] input').fill(randomUUID());
    await block.locator('input[type="file"]').setInputFiles({
      name: 'journey.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv, 'utf8'),
    });
    await block.locator('button.execute').click();
    const status = block.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(100);
    expect(Number((await status.textContent())?.trim())).toBe(201);
    const created = JSON.parse(
      (await block.locator('.live-responses-table .response-col_description .microlight').first().textContent()) ??
        '{}',
    ) as { id: string; itemCount: number; fileName: string };
    expect(created).toMatchObject({ itemCount: 3, fileName: 'journey.csv' });
    last = block;
    await shot('15-batch-uploaded');

    let batch: Answer = { status: 0, body: {} };
    for (let attempt = 0; attempt < 60 && batch.body.status !== 'completed'; attempt++) {
      await page.waitForTimeout(250);
      batch = await tryIt('Payout_batches', 'Batches_get', { params: { id: created.id } });
    }
    expect(batch.body).toMatchObject({ status: 'completed', counts: { completed: 3 } });
    await shot('16-batch-completed');
  }, 120_000);
});
