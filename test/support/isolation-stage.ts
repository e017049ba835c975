// The stage of the tests where a tenant administrator tries to take what is another tenant's: acme blocked
// through its relay (192.0.2.25, so any mail wrongly counted as acme's is answered 550 5.7.750), bravo onboarded
// beside it, the admin API with every tenant administrator's token, and a connection to the policy server.
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { type AdminServer, API_TOKENS_WITH_OTHER_TENANTS, startAdminApi } from './admin-api.js';
import {
  blockAfter,
  blockThroughRelay,
  type EnforcementHarness,
  type EnforcementOptions,
  exampleTenant,
  onboard,
  startEnforcement,
} from './enforcement.js';
import type { Pipeline } from './pipeline-driver.js';

export interface IsolationStage {
  readonly harness: EnforcementHarness;
  readonly app: AdminServer;
  /** The policy server as acme's relay asks it. */
  readonly relay: PolicyClient;
  stop(): Promise<void>;
}

export async function startIsolationStage(
  options: EnforcementOptions & {
    /** More tenants or connectors, before the admin API opens and acme is blocked. */
    readonly onboardMore?: (driver: Pipeline) => Promise<void>;
  } = {},
): Promise<IsolationStage> {
  const harness = await startEnforcement(options);
  const { driver } = harness;
  await onboard(driver, exampleTenant('acme', '192.0.2.0/24', blockAfter(3)));
  await onboard(driver, exampleTenant('bravo', '203.0.113.0/24'));
  await options.onboardMore?.(driver);
  const app = await startAdminApi(driver, { tokens: API_TOKENS_WITH_OTHER_TENANTS });
  const relay = await PolicyClient.connect(harness.policy.host, harness.policy.port);
  await blockThroughRelay(harness, relay, 'acme', '192.0.2.25');
  return {
    harness,
    app,
    relay,
    async stop() {
      relay.close();
      await app.close();
      await harness.stop();
    },
  };
}
