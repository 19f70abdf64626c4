// The operator console (console/, served at /console) in headless Chromium against the whole local runtime:
// sign-in, targets and blockers, a provisioning run started and followed from the console, a rollout's
// waves, audit verification before and after tampering in DynamoDB Local, an auditor's read-only view, an
// accessibility check (axe-core) on every page, and no token anywhere it must not be.
//
// Screenshots of the targets list, an execution timeline and a rollout are written to DCP_SCREENSHOT_DIR
// (default: a temporary folder); `npm run screenshots:console` writes the README's, in docs/images/.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLocalRuntime } from '../support/local-runtime.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { RELEASE, provision, publishRelease, registerTarget, releaseSigner, trustSigner, until } from '../support/workflow-fixtures.js';
import { SKIP_BROWSER_TESTS, launchBrowser, seriousAxeViolations, type Browser } from './support/browser.js';

const api = useLocalRuntime({ agentAnswerDelayMs: 0 });
const signer = releaseSigner('console');
const SHOTS = resolve(process.env.DCP_SCREENSHOT_DIR || join(tmpdir(), 'dcp-console-screenshots'));
const FLEET = 'fleet';
const FLEET_FROM = '7.0.0';
const FLEET_TO = '7.1.0';

let browser: Browser;
let page: Page;
let secrets: string[] = [];
const tokens = { admin: '', operator: '', auditor: '' };
const pagesChecked = new Set<string>();

const consoleUrl = (hash = '') => `${api.url}/console/${hash ? `#${hash}` : ''}`;

async function signIn(token: string): Promise<void> {
  await page.goto(consoleUrl());
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

async function open(hash: string, ready: string): Promise<void> {
  await page.goto(consoleUrl(hash));
  await page.getByRole('heading', { level: 1 }).filter({ hasText: ready }).first().waitFor();
  await page.locator('text=Loading…').first().waitFor({ state: 'detached' }).catch(() => undefined);
}

/** axe-core on the page as it is now: no serious or critical violation. */
async function accessible(name: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
  pagesChecked.add(name);
}

async function screenshot(name: string, fullPage = true): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** Active SaaS targets of the fleet channel on FLEET_FROM, one with a revoked license (skipped as blocked). */
async function fleet(): Promise<void> {
  await publishRelease(api, signer, FLEET_FROM, { channel: FLEET });
  await publishRelease(api, signer, FLEET_TO, { channel: FLEET });
  for (const lic of ['lic-fleet', 'lic-fleet-revoked']) expect((await api.call('POST', '/licenses', { body: licenseBody(lic) })).status).toBe(201);
  const ids = ['fleet-01', 'fleet-02', 'fleet-03'];
  for (const id of ids) {
    const licenseId = id === 'fleet-03' ? 'lic-fleet-revoked' : 'lic-fleet';
    const r = await api.call('POST', '/targets', { body: targetBody(id, 'saas', licenseId, targetKeys().publicKey, { channel: FLEET, agent: 'simulated' }) });
    expect(r.status, r.text).toBe(201);
    secrets.push(r.body.token);
  }
  // Already active on FLEET_FROM, as in test/integration/rollouts-run.test.ts: provisioning is another test's subject.
  for (const id of ids) {
    await api.tables.client.send(
      new UpdateItemCommand({
        TableName: `${api.tables.prefix}targets`,
        Key: { id: { S: id } },
        UpdateExpression: 'SET #s = :active, currentRelease = :bound',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':active': { S: 'active' }, ':bound': { S: FLEET_FROM } },
      }),
    );
  }
  expect((await api.call('POST', '/licenses/lic-fleet-revoked/revoke', { body: { reason: 'customer churned' } })).status).toBe(200);
}

beforeAll(async () => {
  if (SKIP_BROWSER_TESTS) return;
  const launched = launchBrowser();
  await trustSigner(api, signer);
  await publishRelease(api, signer, RELEASE);
  [tokens.operator, tokens.auditor] = await Promise.all([api.token(['operator']), api.token(['auditor'])]);
  tokens.admin = api.adminToken;
  // The blocked target: its health checks fail once, so provisioning ends with it blocked.
  const [blocked, fresh, audited] = await Promise.all([registerTarget(api, 'blocked-1'), registerTarget(api, 'console-1'), registerTarget(api, 'audited-1')]);
  secrets = [tokens.admin, tokens.operator, tokens.auditor, blocked.token, fresh.token, audited.token];
  const fault = await api.call('POST', '/local/faults', { body: { targetId: 'blocked-1', command: 'run-health-checks', kind: 'permanent', times: 1 } });
  expect(fault.status, fault.text).toBe(201);
  const blockedRun = await provision(api, 'blocked-1', 'blocked-1-run');
  await Promise.all([fleet(), api.waitForExecution(blockedRun)]);
  browser = await launched;
  page = await browser.newPage();
}, 90_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(SKIP_BROWSER_TESTS)('operator console', () => {
  it('sign-in: a wrong token shows the 401 problem; the admin token opens the targets list', async () => {
    await page.goto(consoleUrl());
    await accessible('sign-in');
    await page.getByLabel('API token').fill('dcp_nope.not-a-real-token-value');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const problem = page.getByRole('alert');
    await expect.poll(() => problem.textContent()).toMatch(/Unauthorized/);
    expect(await problem.locator('.problem-detail').textContent()).toBeTruthy();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);

    await signIn(tokens.admin);
    await open('/targets', 'Targets');
    expect(await page.locator('tr[data-target]').count()).toBeGreaterThanOrEqual(6);
    await accessible('targets');
    await screenshot('console-targets');
  });

  it('a blocked target shows its blockers with code, message and remediation', async () => {
    await open('/targets?status=blocked', 'Targets');
    const row = page.locator('tr[data-target="blocked-1"]');
    await row.waitFor();
    await expect.poll(() => page.locator('tr[data-target]').count()).toBe(1);
    await expect.poll(() => row.textContent()).toContain('HEALTH_CHECK_FAILED');
    expect(await row.locator('.remediation').textContent()).toMatch(/Remediation: .*unblock/i);

    await open('/targets/blocked-1', 'Target blocked-1');
    await page.getByRole('heading', { name: 'Blockers' }).waitFor();
    expect(await page.locator('.blocker-code').first().textContent()).toBe('HEALTH_CHECK_FAILED');
    await page.getByRole('link', { name: 'Unblock' }).waitFor();
    await accessible('target detail');
  });

  it('a provisioning run started from the console is followed to SUCCEEDED on its execution page', async () => {
    await open('/targets/console-1', 'Target console-1');
    await page.getByRole('link', { name: 'Provision', exact: true }).click();
    await page.getByRole('heading', { name: 'Provision console-1' }).waitFor();
    await page.getByLabel('Release').waitFor();
    expect(await page.getByLabel('Idempotency key').inputValue()).toMatch(/^provision-console-1-/);
    await accessible('provision form');
    await page.getByRole('button', { name: 'Start provisioning' }).click();
    await page.waitForURL(/#\/executions\//);
    const status = page.getByTestId('execution-status');
    const seen = new Set<string | null>();
    await expect.poll(async () => { const s = await status.textContent(); seen.add(s); return s; }, { timeout: 20_000, interval: 100 }).toBe('SUCCEEDED');
    // Loaded while the run was RUNNING, the page refreshed itself to the end (no reload by the test).
    expect([...seen]).toContain('RUNNING');
    const steps = page.locator('.timeline > li');
    expect(await steps.count()).toBeGreaterThan(5);
    expect(await page.locator('.timeline > li .badge').allTextContents()).not.toContain('RUNNING');
    expect(await page.locator('table.history tbody tr').count()).toBeGreaterThan(steps ? 5 : 0);
    await accessible('execution');
    await screenshot('console-execution', false);
    const target = await api.call('GET', '/targets/console-1');
    expect(target.body).toMatchObject({ status: 'active', currentRelease: RELEASE });
  });

  it('a rollout shows its waves, canary first, with per-target outcomes and skipped-blocked reasons', async () => {
    const started = await api.call('POST', '/rollouts', { body: { releaseId: FLEET_TO } });
    expect(started.status, started.text).toBe(202);
    await open(`/rollouts?releaseId=${FLEET_TO}`, 'Rollouts');
    await page.getByRole('link', { name: started.body.id }).click();
    await page.getByRole('heading', { name: `Rollout of ${FLEET_TO}` }).waitFor();
    // The page refreshes itself while the rollout runs.
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 30_000, interval: 250 }).toBe('SUCCEEDED');
    const waves = page.locator('.waves > section');
    expect(await waves.locator('h2').allTextContents()).toEqual(['Canary SUCCEEDED', 'Wave 1 SUCCEEDED']);
    expect(await waves.first().locator('[data-outcome]').allTextContents()).toEqual([expect.stringMatching(/^fleet-0[12] succeeded/)]);
    const skipped = page.locator('[data-outcome="skipped-blocked"]');
    expect(await skipped.textContent()).toMatch(/fleet-03.*LICENSE_REVOKED/);
    expect(await page.locator('progress').first().getAttribute('value')).toBe('3');
    await page.getByRole('button', { name: 'Halt rollout' }).count().then((n) => expect(n).toBe(0)); // not running any more
    await accessible('rollout');
    await screenshot('console-rollout');
  });

  it('audit Verify shows valid, and after a record is altered in DynamoDB Local the first broken seq', async () => {
    await open('/targets/audited-1', 'Target audited-1');
    const result = page.getByTestId('verify-result');
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^valid checked \d+ records/);

    const table = `${api.tables.prefix}audit`;
    const key = { stream: { S: 'target:audited-1' }, seq: { N: '2' } };
    const item = (await api.tables.client.send(new GetItemCommand({ TableName: table, Key: key }))).Item!;
    item.actor = { S: 'someone-else' };
    await api.tables.client.send(new PutItemCommand({ TableName: table, Item: item }));

    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^invalid/);
    expect(await result.locator('.broken-seq').textContent()).toBe('2');
    await accessible('target detail after verify');
  });

  it('other pages: releases and keys, decisions with remediations, policies', async () => {
    await open('/releases', 'Releases and keys');
    expect(await page.locator('table').first().textContent()).toContain(FLEET_TO);
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBeGreaterThan(0);
    await accessible('releases');

    await open('/decisions', 'Decisions');
    await page.getByLabel('Target').fill('fleet-03');
    await page.getByLabel('Release').fill(FLEET_TO);
    await page.getByLabel('Action').selectOption('update');
    await page.getByRole('button', { name: 'Decide' }).click();
    const decision = page.getByRole('heading', { name: /deny update/ });
    await decision.waitFor();
    expect(await page.locator('.blocker').first().textContent()).toMatch(/LICENSE_REVOKED.*Remediation:/);
    await accessible('decisions');

    await open('/policies', 'Policies');
    for (const kind of ['Target', 'Provisioning', 'Secrets', 'Attestation']) await page.getByRole('heading', { name: `${kind} policy` }).waitFor();
    await until(async () => ((await page.locator('pre.json').count()) >= 4 ? true : undefined));
    await accessible('policies');
  });

  it('an auditor sees no write buttons, and a forced write shows the 403 problem', async () => {
    await signIn(tokens.auditor);
    await expect.poll(() => page.locator('.who').textContent()).toContain('auditor');
    await open('/targets/blocked-1', 'Target blocked-1');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Target actions' }).count()).toBe(0);
    for (const name of ['Provision', 'Update', 'Unblock', 'Decommission']) expect(await page.getByRole('link', { name, exact: true }).count()).toBe(0);
    await open('/releases', 'Releases and keys');
    await page.locator('table tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
    await accessible('releases (auditor)');

    // The action's page is reachable by URL; the API refuses the write.
    await open('/targets/blocked-1/decommission', 'Decommission blocked-1');
    await page.getByLabel('Reason').fill('forced by an auditor');
    await page.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Decommission' }).click();
    const problem = page.getByRole('alert');
    await expect.poll(() => problem.textContent()).toMatch(/Forbidden \(403/);
    expect(await problem.locator('.problem-detail').textContent()).toBeTruthy();
    expect((await api.call('GET', '/targets/blocked-1')).body.status).toBe('blocked');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('no token or secret in any URL, console message or local storage; the CSP refused nothing', async () => {
    expect(pagesChecked.size).toBeGreaterThanOrEqual(9);
    const secretParts = secrets.flatMap((s) => [s, s.split('.').pop()!]).filter((s) => s.length >= 16);
    expect(secretParts.length).toBeGreaterThan(6);
    const localStorage = await page.evaluate<string>('JSON.stringify(Object.entries(localStorage))');
    expect(localStorage).toBe('[]');
    for (const text of [...browser.urls, ...browser.consoleMessages, localStorage]) {
      for (const secret of secretParts) expect(text.includes(secret), `a secret appears in: ${text}`).toBe(false);
    }
    expect(browser.consoleMessages.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
    expect(browser.consoleMessages.filter((m) => m.startsWith('pageerror'))).toEqual([]);
  });
});
