// `relayguard all | scorer | enforcer | admin`: run services until SIGTERM or SIGINT, then stop gracefully
// (finish the batch in hand, commit, leave the group).
import { decisionApi } from '../../enforcer/decision-api.js';
import { postfixEndpoint, startPolicyServer } from '../../enforcer/policy-server.js';
import type { Config } from '../../platform/config.js';
import { createHttpServer } from '../../platform/http-server.js';
import type { Logger } from '../../platform/logger.js';
import { type ServiceName, startRuntime } from '../../platform/runtime.js';

export async function serve(config: Config, services: readonly ServiceName[], logger: Logger): Promise<void> {
  const runtime = await startRuntime(config, { services, logger });
  let ready = false;
  const http = createHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics: runtime.metrics,
    isReady: () => ready,
  });
  const { enforcer } = runtime;
  if (enforcer) await http.register(decisionApi, { enforcer, metrics: runtime.metrics });
  const httpAddress = await http.listen({ host: config.bindAddress, port: config.httpPort });
  // Up before the enforcer is ready: until then it answers with the configured fallback, and counts it.
  const policyServer = enforcer
    ? await startPolicyServer({
        enforcer,
        metrics: runtime.metrics,
        logger: logger.child({ component: 'policy-server' }),
        host: config.bindAddress,
        port: config.policyPort,
        ...config.policyService,
      })
    : undefined;
  const { description } = runtime.adapters;
  const banner = [
    `relayguard ${services.join(' + ')} — ${config.embedded ? 'embedded mode (no Kafka, Redis or Schema Registry configured)' : 'production adapters'}`,
    `  event log:    ${description.log}`,
    `  schemas:      ${description.codec}`,
    `  window store: ${description.store}`,
    `  http:         ${httpAddress} (/healthz, /readyz, /metrics${enforcer ? ', POST /v1/decisions' : ''})`,
    ...(policyServer
      ? [`  postfix:      check_policy_service ${postfixEndpoint(policyServer)} (see deploy/postfix/)`]
      : []),
    `  policy:       ${config.policy.mode}, block when (U >= ${config.policy.thresholds.minUnregistered} and U/T >= ${config.policy.thresholds.minUnregisteredRatio}) or (D >= ${config.policy.thresholds.minDistinctDomains} and U >= ${config.policy.thresholds.minUnregisteredWithDistinct}) in ${config.policy.windowMinutes} minutes`,
  ];
  process.stdout.write(`${banner.join('\n')}\n`);
  await runtime.ready;
  ready = true;
  logger.info({ services }, 'relayguard is ready');

  await new Promise<void>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await policyServer?.close();
  await http.close();
  await runtime.stop();
}
