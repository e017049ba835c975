// The Postfix policy server as tests and benchmarks start it: a free loopback port, the configuration's default
// limits and allowlist, no log; `options` replaces any of these.
import type { Enforcer } from '../../services/enforcer/enforcer.js';
import {
  type PolicyServer,
  type PolicyServerOptions,
  startPolicyServer,
} from '../../services/enforcer/postfix/server.js';
import { loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { Metrics } from '../../services/platform/metrics.js';

export function startLoopbackPolicyServer(
  enforcer: Enforcer,
  metrics: Metrics,
  options: Partial<PolicyServerOptions> = {},
): Promise<PolicyServer> {
  return startPolicyServer({
    enforcer,
    metrics,
    logger: silentLogger,
    host: '127.0.0.1',
    port: 0,
    ...loadConfig({}).postfixService,
    ...options,
  });
}
