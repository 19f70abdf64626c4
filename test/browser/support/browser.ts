// Headless Chromium for the console's browser tests: Debian's `chromium` package driven by playwright-core
// (`npx playwright install` cannot download here). A missing browser fails the tests with the fix, unless
// DCP_SKIP_BROWSER_TESTS=1 says to skip them on purpose. CHROMIUM_PATH points at another binary.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SKIP_BROWSER_TESTS = process.env.DCP_SKIP_BROWSER_TESTS === '1';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function assertChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  throw new Error(
    `The console's browser tests need Chromium at ${CHROMIUM_PATH} and it is not there.\n` +
      'Install it with `apt-get install -y chromium` (as root; .ci/run does this), point CHROMIUM_PATH at ' +
      'another Chromium, or set DCP_SKIP_BROWSER_TESTS=1 to skip these tests on purpose.',
  );
}

export interface Browser {
  readonly context: BrowserContext;
  /** Everything the pages printed to the console, and every URL they loaded or requested. */
  readonly consoleMessages: string[];
  readonly urls: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  assertChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'dcp-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1360, height: 860 },
    timeout: 20_000,
  });
  const consoleMessages: string[] = [];
  const urls: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
    page.on('request', (r) => urls.push(r.url()));
    page.on('framenavigated', (f) => urls.push(f.url()));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    consoleMessages,
    urls,
    async newPage() {
      return context.pages()[0] ?? context.newPage();
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core run inside the page (evaluated through the DevTools protocol, which the page's CSP does not
 * govern, so the console's own policy stays strict); answers the serious and critical violations.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run({ exclude: [] }, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
