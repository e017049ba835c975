// A real Postfix asking relayguard's policy server, with relayguard's enforcement in front of the pipeline
// (embedded, or on the production adapters of a stack started for it) and the tenants onboarded: what the Postfix
// end-to-end tests share.
import { postfixEndpoint } from '../../services/enforcer/postfix/server.js';
import {
  blockAfter,
  type EnforcementHarness,
  exampleTenant,
  onboard,
  startEnforcement,
  type TestTenant,
} from './enforcement.js';
import type { Pipeline } from './pipeline-driver.js';
import { type Postfix, startPostfixAsking } from './postfix.js';
import { startProductionStack } from './production-stack.js';
import { type SwaksResult, swaks } from './swaks.js';

/** How many unregistered messages block a tenant of `firstServerTenant`: a burst swaks sends in seconds. */
export const SPAM_BURST = 5;

/** A tenant whose on-premises server sends from 127.0.0.2, blocked after SPAM_BURST unregistered messages. */
export function firstServerTenant(tenantId: string): TestTenant {
  return exampleTenant(tenantId, '127.0.0.2/32', blockAfter(SPAM_BURST));
}

export interface PostfixRelay {
  readonly harness: EnforcementHarness;
  readonly postfix: Postfix;
  /** One message through Postfix from this loopback address (a tenant's server) to an external recipient. */
  send(clientAddress: string, from: string): Promise<SwaksResult>;
  /** Stops Postfix, then relayguard, then the stack. */
  stop(): Promise<void>;
}

export async function startPostfixRelay(options: {
  /** On a production stack (Kafka, Schema Registry, Redis) of its own; otherwise on the embedded adapters. */
  readonly production: boolean;
  readonly tenants: readonly TestTenant[];
  /** What else the tenants need before Postfix starts (more connectors, say). */
  readonly arrange?: (driver: Pipeline) => Promise<void>;
}): Promise<PostfixRelay> {
  // What has started, last first: a start that fails stops what it had started.
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stops.splice(0)) await stopOne();
  };
  try {
    const stack = options.production ? await startProductionStack() : undefined;
    if (stack) stops.unshift(() => stack.stop());
    const harness = await startEnforcement({ stack });
    stops.unshift(() => harness.stop());
    for (const tenant of options.tenants) await onboard(harness.driver, tenant);
    await options.arrange?.(harness.driver);
    const postfix = await startPostfixAsking(postfixEndpoint(harness.policy));
    stops.unshift(() => postfix.stop());
    return {
      harness,
      postfix,
      send: (clientAddress, from) =>
        swaks({
          server: postfix.host,
          port: postfix.smtpPort,
          localInterface: clientAddress,
          from,
          to: 'recipient@external.example',
        }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
