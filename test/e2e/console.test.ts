// The operator console in a real browser (Debian's chromium, driven by playwright-core) against the admin API on
// the embedded pipeline: an operator finds the blocked tenant of an attack, reads the evidence, disables the
// unusual connector and lifts the block with attestations, after which the enforcer accepts the tenant's mail
// again; a tenant admin sees only its own tenant, is offered no operator action, and lifts its own first block
// once the system's checks pass; a reader can change nothing; evidence with hostile strings (from a block event
// written straight to the topic) is shown as text.
// Screenshots at 1280x800 go to .cache/console-screenshots/ (docs/console.md).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { wholeDirectory } from '../../services/app/runtime.js';
import { TENANT_SCOPE } from '../../services/core/block-event.js';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { projectPath } from '../../services/platform/project-files.js';
import { type AdminServer, floodUnregistered, startAdminApi, TOKENS } from '../support/admin-api.js';
import { type Browser, launchBrowser, signInToConsole } from '../support/browser.js';
import { onpremConnector } from '../support/builders.js';
import { OPERATOR, type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const START = Date.UTC(2026, 10, 28, 9);
const DAY = 86_400_000;
const SCREENSHOTS = projectPath('.cache', 'console-screenshots');

const HOSTILE_DOMAIN = '<img src=x onerror="window.__pwned=1">.example';
const HOSTILE_CONNECTOR = '<script>window.__pwned=2</script>';
const HOSTILE_TICKET = '<i onmouseover="window.__pwned=3">SUP-42</i>';

/** globex's block as a producer with write access to the topic could forge it: nothing in it is trusted. */
function hostileBlock(at: number): TenantBlockEvent {
  return {
    eventId: 'forged-1',
    tenantId: 'globex',
    occurredAt: at,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId: '<b>globex-block</b>',
      mode: 'ENFORCE',
      reason: 'DISTINCT_DOMAINS',
      policyVersion: '"><svg onload="window.__pwned=4">',
      probation: false,
      ...TENANT_SCOPE,
      evidence: {
        windowStart: at - 3_600_000,
        windowEnd: at,
        unregistered: 120,
        forwardedUnregistered: 0,
        total: 130,
        distinctUnregisteredDomains: 60,
        thresholds: {
          minUnregistered: 500,
          minUnregisteredRatio: 0.25,
          minDistinctDomains: 50,
          minUnregisteredWithDistinct: 100,
        },
        topDomains: [{ domain: HOSTILE_DOMAIN, messages: 120 }],
        connectors: [
          {
            connectorId: HOSTILE_CONNECTOR,
            messages: 120,
            createdAt: null,
            total: 120,
            distinctUnregisteredDomains: 1,
          },
        ],
      },
    },
  };
}

describe('console in a real browser', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  let base: string;
  let browser: Browser;
  /** Every URL the browser asked for, to prove no token ever went into one. */
  const requested: string[] = [];
  const attackStart = START + 20 * DAY;

  before(async () => {
    driver = await startPipeline({}, START);
    const admin = driver.runtime.admin!;
    for (const tenant of ['acme', 'globex']) {
      await admin.putAcceptedDomain(OPERATOR, tenant, `${tenant}.example`, true);
    }
    await admin.putConnector(OPERATOR, 'acme', 'hq', onpremConnector('192.0.2.0/24'));
    await admin.putConnector(OPERATOR, 'globex', 'globex-hq', onpremConnector('203.0.113.0/24'));
    // The attacker's connector, created the day the flood starts: the review ranks it first.
    driver.clock.set(attackStart - 60_000);
    await admin.putConnector(OPERATOR, 'acme', 'edge', onpremConnector('198.51.100.0/24'));
    await floodUnregistered(driver, 'acme', 'edge', attackStart);
    const { codec } = driver.runtime.adapters;
    await driver.log.publish(Topics.tenantBlocks, [
      {
        key: 'globex',
        value: await codec.encode(Topics.tenantBlocks, hostileBlock(attackStart + 5 * 60_000)),
      },
    ]);
    await driver.settle();
    assert.equal(driver.runtime.directory.tenant('acme')?.block?.mode, 'ENFORCE', 'the flood blocked acme');
    assert.equal(driver.runtime.directory.tenant('globex')?.block?.mode, 'ENFORCE');

    app = await startAdminApi(driver);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    browser.context.on('request', (request) => requested.push(request.url()));
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await driver?.stop();
  });

  const signIn = (token: string) => signInToConsole(browser, base, token);

  async function axeViolations(page: Page): Promise<string[]> {
    // Evaluated over the DevTools protocol, which the page's CSP does not govern (the page itself could not).
    const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(`${source}\n;undefined`);
    return page.evaluate(async () => {
      const { axe } = globalThis as unknown as {
        axe: { run(): Promise<{ violations: { id: string; nodes: unknown[] }[] }> };
      };
      const result = await axe.run();
      return result.violations.map((violation) => `${violation.id} (${violation.nodes.length})`);
    });
  }

  it('serves the console with a strict Content-Security-Policy and only its own files', async () => {
    const page = await browser.context.newPage();
    const response = await page.goto(`${base}/console/`);
    const csp = response!.headers()['content-security-policy'];
    assert.match(csp!, /default-src 'none'/);
    assert.match(csp!, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp!, /unsafe-inline|unsafe-eval/);
    const traversal = await page.request.get(`${base}/console/..%2f..%2fpackage.json`);
    assert.equal(traversal.status(), 404);
    assert.equal(await page.title(), 'relayguard console');
    await page.close();
  });

  it('shows a tenant admin its own tenant only, with no operator action', async () => {
    const page = await signIn(TOKENS.acmeAdmin);
    await page.getByRole('heading', { name: 'Tenant acme' }).waitFor();
    assert.match(page.url(), /#\/tenants\/acme$/);
    assert.equal(await page.getByRole('link', { name: 'Blocked tenants' }).count(), 0);
    await page.getByText('Blocked: mail from unregistered domains is refused').waitFor();
    // The self-service unblock: the checks are shown, and the button stays disabled while one fails (the
    // attacker's connector is still enabled), even with every attestation ticked.
    const form = page.locator('#self-service-form');
    await form.getByText(/Not yet: connector edge carried \d+ unregistered messages/).waitFor();
    for (const label of ['registered', 'reviewed', 'secured'])
      await form.getByLabel(new RegExp(label)).check();
    assert.equal(await form.getByRole('button', { name: 'Lift the block myself' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Lift the block', exact: true }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /Disable globex/ }).count(), 0);
    await page.screenshot({ path: `${SCREENSHOTS}/tenant-admin.png`, fullPage: false });

    // The tenant admin's own remediation: registering the domains it sends from.
    const domains = page.locator('section[aria-labelledby="domains-title"]');
    await domains.getByLabel('Domain', { exact: true }).fill('Partner.example');
    await domains.getByLabel('Subdomains too').check();
    await domains.getByRole('button', { name: 'Register', exact: true }).click();
    await page.locator('#action-result').getByText('Registered Partner.example.').waitFor();
    await domains.getByRole('cell', { name: 'partner.example', exact: true }).waitFor();
    assert.equal(
      wholeDirectory(driver.runtime).domainEntry('acme', 'partner.example')?.matchSubdomains,
      true,
    );
    // Registered means verified: until its owner publishes the TXT record, the page says what to publish.
    await domains.getByText(/^pending: publish TXT partner\.example "relayguard-verification=/).waitFor();

    // Another tenant, by its address: the API's refusal, in its own words.
    await page.goto(`${base}/console/#/tenants/globex`);
    await page.getByRole('alert').filter({ hasText: '403 FORBIDDEN' }).waitFor();
    assert.match(
      (await page.getByRole('alert').first().textContent())!,
      /this token manages tenant acme only, not globex/,
    );
    assert.equal(await page.getByText(HOSTILE_DOMAIN).count(), 0);
    // The blocked list is for operators and readers: the console sends the tenant admin home.
    await page.goto(`${base}/console/#/blocks`);
    await page.waitForURL(/#\/tenants\/acme$/);
    await page.close();
  });

  it('lets a reader read everything and change nothing', async () => {
    const page = await signIn(TOKENS.reader);
    const list = page.locator('#blocks-table');
    await list.getByRole('link', { name: 'acme' }).waitFor();
    await list.getByRole('link', { name: 'globex' }).waitFor();
    await list.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { name: 'Tenant acme' }).waitFor();
    await page.getByRole('heading', { name: 'Connector review' }).waitFor();
    await page.getByText('A reader token can read only').waitFor();
    // Reading includes trying other thresholds on the live window (nothing is changed by it).
    const preview = page.locator('#policy-preview');
    await preview.getByLabel('U (volume rule)').fill('1000');
    await preview.getByLabel('D (distinct-domains rule)').fill('100');
    await preview.getByRole('button', { name: 'Preview' }).click();
    await page.getByText(/Thresholds in force: would block: .*These thresholds: would not block\./).waitFor();
    assert.equal(await page.locator('#view form:not(#policy-preview)').count(), 0, 'no form that changes');
    assert.equal(await page.getByRole('button', { name: /Disable|Enable|Lift|Register/ }).count(), 0);
    await page.close();
  });

  it('works from the keyboard alone: sign in, sort, open a tenant', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/console/`);
    /** Tabs forward until the focused element matches, as a keyboard user would; fails after 60 presses. */
    const tabTo = async (matches: string) => {
      for (let presses = 0; presses < 60; presses++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(
          `document.activeElement?.matches(${JSON.stringify(matches)}) ?? false`,
        );
        if (focused) return;
      }
      assert.fail(`no element matching ${matches} takes the keyboard focus`);
    };
    await tabTo('#token');
    await page.keyboard.type(TOKENS.reader);
    await page.keyboard.press('Enter');
    const list = page.locator('#blocks-table');
    await list.getByRole('link', { name: 'globex' }).waitFor();
    await tabTo('th[data-sort="tenantId"] button');
    await page.keyboard.press('Enter');
    await list.locator('th[data-sort="tenantId"][aria-sort="ascending"]').waitFor();
    assert.deepEqual(await list.locator('tbody tr td:first-child').allTextContents(), ['acme', 'globex']);
    await tabTo('a[href="#/tenants/globex"]');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tenant globex' }).waitFor();
    await page.close();
  });

  it('shows hostile strings from the evidence as text, and runs none of them', async () => {
    const page = await signIn(TOKENS.operator);
    await page.goto(`${base}/console/#/tenants/globex`);
    await page.getByRole('heading', { name: 'Tenant globex' }).waitFor();
    const evidence = page.locator('section[aria-labelledby="evidence-title"]');
    await evidence.getByRole('cell', { name: HOSTILE_DOMAIN, exact: true }).waitFor();
    await evidence.getByRole('cell', { name: HOSTILE_CONNECTOR, exact: true }).waitFor();
    await page.getByText('<b>globex-block</b>', { exact: true }).waitFor();
    assert.equal(await page.locator('main img, main script, main b, main svg[onload]').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    await page.close();
  });

  it('lets an operator find the attacked tenant, disable the unusual connector and lift the block', async () => {
    const enforcer = driver.runtime.enforcer!;
    const spam = { tenantId: 'acme', sender: 'x@spam7.example' };
    assert.equal(enforcer.decide(spam, 'RCPT').action, 'REJECT');

    const page = await signIn(TOKENS.operator);
    const list = page.locator('#blocks-table');
    await list.getByRole('link', { name: 'acme' }).waitFor();
    await page.getByLabel('Filter by tenant').fill('acm');
    assert.equal(await list.getByRole('link', { name: 'globex' }).count(), 0, 'the filter hides globex');
    await page.getByRole('img', { name: /Blocks in force, by the hour/ }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/blocked-tenants.png` });
    await list.getByRole('link', { name: 'acme' }).click();

    // The evidence: the flood's domains and the connector that carried them.
    await page.getByRole('heading', { name: 'Tenant acme' }).waitFor();
    const evidence = page.locator('section[aria-labelledby="evidence-title"]');
    await evidence.getByRole('cell', { name: 'spam0.example', exact: true }).waitFor();
    await evidence.getByRole('cell', { name: 'edge', exact: true }).waitFor();
    await page.getByRole('img', { name: /Messages per minute/ }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/tenant.png` });
    await page.screenshot({ path: `${SCREENSHOTS}/tenant-full.png`, fullPage: true });
    assert.deepEqual(await axeViolations(page), [], 'axe-core finds no accessibility violation');

    // Connector review: the attacker's connector ranks first; disable it.
    const review = page.locator('section[aria-labelledby="connectors-title"] tbody tr');
    assert.match((await review.first().textContent())!, /^edge/);
    await page.getByRole('button', { name: 'Disable edge' }).click();
    await page.locator('#action-result').getByText('Disabled connector edge.').waitFor();
    assert.equal(driver.runtime.directory.connector('acme', 'edge')?.enabled, false);

    // A lift without the attestations: the API refuses, and the console says so.
    await page.getByLabel('Support ticket').fill(HOSTILE_TICKET);
    await page.getByRole('button', { name: 'Lift the block', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: '422 ATTESTATION_MISSING' }).waitFor();
    assert.equal(driver.runtime.directory.tenant('acme')?.block?.mode, 'ENFORCE');

    const form = page.locator('#unblock-form');
    for (const label of ['registered', 'reviewed', 'secured'])
      await form.getByLabel(new RegExp(label)).check();
    await form.getByLabel('Support ticket').fill(HOSTILE_TICKET);
    await form.getByRole('button', { name: 'Lift the block', exact: true }).click();
    await page.locator('#action-result').getByText('Block lifted.').waitFor();
    await page.getByText('Not blocked', { exact: true }).waitFor();
    const history = page.locator('section[aria-labelledby="history-title"]');
    await history.getByText(HOSTILE_TICKET, { exact: true }).waitFor();
    // The audit trail: the lift on top, with its ticket as text, then the connector change.
    const audit = page.locator('section[aria-labelledby="audit-title"] tbody tr');
    assert.match((await audit.nth(0).textContent())!, /tenant\.unblock/);
    await audit.nth(0).getByRole('cell', { name: HOSTILE_TICKET, exact: true }).waitFor();
    assert.match((await audit.nth(1).textContent())!, /connector\.put.*edge/);
    await page.screenshot({ path: `${SCREENSHOTS}/tenant-after-unblock.png`, fullPage: true });
    await driver.settle();
    assert.equal(enforcer.decide(spam, 'RCPT').action, 'ACCEPT', "the tenant's mail flows again");

    await page.goto(`${base}/console/#/blocks`);
    await list.getByRole('link', { name: 'globex' }).waitFor();
    assert.equal(await list.getByRole('link', { name: 'acme' }).count(), 0, 'acme left the blocked list');
    assert.deepEqual(await axeViolations(page), []);

    // The token was typed, sent in a header, and kept nowhere else.
    for (const token of Object.values(TOKENS)) {
      assert.equal(requested.filter((url) => url.includes(token)).length, 0, 'no token in any URL');
    }
    assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0);
    assert.deepEqual(await browser.context.cookies(), []);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    await page.close();
  });

  it('lets a tenant admin lift its own first block once the checks pass and the attestations are given', async () => {
    const page = await signIn(TOKENS.globexAdmin);
    await page.getByRole('heading', { name: 'Tenant globex' }).waitFor();
    const form = page.locator('#self-service-form');
    await form.getByText("Passed: this is the tenant's first block in 30 days").waitFor();
    const button = form.getByRole('button', { name: 'Lift the block myself' });
    assert.equal(await button.isDisabled(), true);
    await form.getByLabel(/registered/).check();
    await form.getByLabel(/reviewed/).check();
    assert.equal(await button.isDisabled(), true, 'two attestations of three');
    await form.getByLabel(/secured/).check();
    assert.equal(await button.isDisabled(), false);
    await button.click();
    await page
      .locator('#action-result')
      .getByText(/Block lifted: the tenant is on probation/)
      .waitFor();
    await page.getByText('On probation until').first().waitFor();
    assert.equal(driver.runtime.directory.tenant('globex')?.block, null);
    assert.equal(driver.runtime.directory.tenant('globex')?.lastUnblock?.source, 'SELF_SERVICE');
    await page.close();
  });
});
