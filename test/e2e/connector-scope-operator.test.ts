// A connector-scoped block (issue #22) as an operator and a tenant admin meet it: the real `relayguard` CLI and
// the console in a real browser against the admin API on the embedded pipeline. The CLI shows the scope, lifts one
// connector with --connector and says what it cannot lift in its own flag's terms; the console shows the scope and
// the remedies and lifts a connector the person ticks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../services/cli/exit-codes.js';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import {
  type AdminServer,
  bearer,
  putSchoolConnectors,
  startAdminApi,
  TOKENS,
} from '../support/admin-api.js';
import { blockedEvent, blockRecords, connectorScope, evidenceConnectors } from '../support/block-events.js';
import { type Browser, launchBrowser, signInToConsole } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const START = Date.UTC(2026, 11, 1, 9);
const HOUR = 3_600_000;

/** A school's block on its two on-premises servers; its forwarding connector keeps relaying. */
function schoolBlock(tenantId: string): TenantBlockEvent {
  const event = blockedEvent(tenantId, `${tenantId}@2026-12-01T09:00Z`, {
    at: START,
    scope: connectorScope(`${tenantId}-onprem-1`, `${tenantId}-onprem-2`),
  });
  const connectors = evidenceConnectors({ [`${tenantId}-onprem-1`]: 400, [`${tenantId}-onprem-2`]: 300 });
  return { ...event, blocked: { ...event.blocked!, evidence: { ...event.blocked!.evidence, connectors } } };
}

describe('a connector-scoped block through the CLI and the console', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  let base = '';
  let browser: Browser;

  const cli = (args: string[], token: string = TOKENS.operator) =>
    runCli(args, { RELAYGUARD_URL: base, RELAYGUARD_TOKEN: token });

  before(async () => {
    driver = await startPipeline({}, START + HOUR);
    await putSchoolConnectors(driver);
    const events = [
      schoolBlock('acme'),
      schoolBlock('globex'),
      blockedEvent('initech', 'initech@x', { at: START }),
    ];
    await driver.log.publish(Topics.tenantBlocks, await blockRecords(driver.runtime.adapters.codec, events));
    await driver.settle();
    app = await startAdminApi(driver);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await driver?.stop();
  });

  it('CLI: status and blocks show the scope, the blocked connectors and the remedies', async () => {
    const status = await cli(['tenants', 'status', 'acme']);
    assert.equal(status.code, ExitCode.OK, status.stderr);
    assert.match(status.stdout, /scope +connectors acme-onprem-1, acme-onprem-2\n/);
    assert.match(status.stdout, /why this scope +connectors acme-onprem-1, acme-onprem-2 carried the flood/);
    assert.match(status.stdout, /acme-onprem-1 +400 +400 +40 +- +yes/);
    assert.match(
      status.stdout,
      /remedies, in order:\n {2}1\. disable connector acme-onprem-1: it carried 400/,
    );
    const blocks = await cli(['tenants', 'blocks']);
    assert.match(blocks.stdout, /acme +\S+ +connectors acme-onprem-1, acme-onprem-2 +VOLUME/);
    assert.match(blocks.stdout, /initech +\S+ +tenant +VOLUME/);
  });

  it('CLI: says what --connector cannot lift in its own terms, and changes nothing', async () => {
    const before = (await driver.blockEvents()).length;
    const attest = [
      '--ticket',
      'SUP-1',
      '--domains-registered',
      '--connectors-reviewed',
      '--servers-secured',
    ];
    const notBlocked = await cli(['tenants', 'unblock', 'acme', '--connector', 'acme-forwarding', ...attest]);
    assert.equal(notBlocked.code, ExitCode.USAGE);
    assert.match(
      notBlocked.stderr,
      /^relayguard: --connector: acme-forwarding is not blocked by block acme@2026-12-01T09:00Z, which blocks acme-onprem-1, acme-onprem-2 \[INVALID_FIELD\]/,
    );
    const tenantWide = await cli(['tenants', 'unblock', 'initech', '--connector', 'x', ...attest]);
    assert.equal(tenantWide.code, ExitCode.USAGE);
    assert.match(
      tenantWide.stderr,
      /^relayguard: --connector: block initech@x covers the whole of tenant initech/,
    );
    const badId = await cli(['tenants', 'unblock', 'acme', '--connector', 'no spaces', ...attest]);
    assert.equal(badId.code, ExitCode.USAGE);
    assert.match(badId.stderr, /^relayguard: --connector: /);
    assert.equal((await driver.blockEvents()).length, before);
  });

  it('CLI: lifts one connector with --connector, and the rest stays blocked', async () => {
    const lifted = await cli([
      'tenants',
      'unblock',
      'acme',
      '--connector',
      'acme-onprem-1',
      '--ticket',
      'SUP-2',
      '--domains-registered',
      '--connectors-reviewed',
      '--servers-secured',
    ]);
    assert.equal(lifted.code, ExitCode.OK, lifted.stderr);
    assert.match(
      lifted.stdout,
      /^lifted acme-onprem-1 from block acme@2026-12-01T09:00Z at \S+; still blocked: acme-onprem-2 \(block acme@\S+~g\d+\)/,
    );
    const status = JSON.parse((await cli(['tenants', 'status', 'acme', '--json'])).stdout);
    assert.deepEqual(
      [status.block.connectorIds, status.block.liftedConnectorIds],
      [['acme-onprem-2'], ['acme-onprem-1']],
    );
  });

  const signIn = (token: string) => signInToConsole(browser, base, token);

  it('console: shows the scope and the remedies, and lifts the connector an operator ticks', async () => {
    const page = await signIn(TOKENS.operator);
    await page
      .locator('#blocks-table')
      .getByRole('cell', { name: 'connectors globex-onprem-1, globex-onprem-2' })
      .waitFor();
    await page.goto(`${base}/console/#/tenants/globex`);
    await page
      .getByText(
        /^Blocked on connectors globex-onprem-1, globex-onprem-2: .*the tenant's other connectors keep relaying$/,
      )
      .waitFor();
    const evidence = page.locator('section[aria-labelledby="evidence-title"]');
    await evidence.getByText('connectors globex-onprem-1, globex-onprem-2 carried the flood').waitFor();
    assert.match(
      (await evidence.locator('.remedies li').first().textContent())!,
      /^disable connector globex-onprem-1: it carried 400 unregistered messages/,
    );
    const review = page.locator('section[aria-labelledby="connectors-title"]');
    assert.match(
      (await review.locator('tbody tr').first().textContent())!,
      /^globex-onprem-1enabled, blocked/,
    );

    const form = page.locator('#unblock-form');
    await form.getByLabel('Lift connector globex-onprem-2').check();
    for (const label of ['registered', 'reviewed', 'secured'])
      await form.getByLabel(new RegExp(label)).check();
    await form.getByLabel('Support ticket').fill('SUP-3');
    await form.getByRole('button', { name: 'Lift the block' }).click();
    await page
      .locator('#action-result')
      .getByText('Lifted globex-onprem-2; still blocked: globex-onprem-1.')
      .waitFor();
    await page.getByText(/^Blocked on connector globex-onprem-1: /).waitFor();
    assert.deepEqual(driver.runtime.directory.tenant('globex')?.block?.connectorIds, ['globex-onprem-1']);
    await page.close();
  });

  it('console: a tenant admin is offered the lift of its own blocked connectors', async () => {
    const page = await signIn(TOKENS.acmeAdmin);
    const form = page.locator('#self-service-form');
    await form.getByLabel('Lift connector acme-onprem-2').waitFor();
    assert.equal(await form.getByLabel('Lift connector acme-onprem-1').count(), 0, 'lifted already');
    const response = await app.inject({
      method: 'GET',
      url: '/v1/tenants/acme/status',
      headers: bearer(TOKENS.acmeAdmin),
    });
    assert.equal(response.json().block.scope, 'CONNECTOR');
    await page.close();
  });
});
