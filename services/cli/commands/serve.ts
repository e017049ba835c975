// `relayguard all | scorer | enforcer | admin`: run services until SIGTERM or SIGINT, then stop gracefully
// (finish the batch in hand, commit, leave the group).
import { randomBytes } from 'node:crypto';
import { CONSOLE_PREFIX, consoleAssets } from '../../admin/console/console-assets.js';
import { adminApi } from '../../admin/http/admin-api.js';
import { RelayguardError } from '../../core/errors.js';
import { decisionApi } from '../../enforcer/decision-api.js';
import { postfixEndpoint, startPolicyServer } from '../../enforcer/policy-server.js';
import type { ApiToken, Config } from '../../platform/config.js';
import { createHttpServer } from '../../platform/http-server.js';
import type { Logger } from '../../platform/logger.js';
import { type ServiceName, startRuntime } from '../../platform/runtime.js';
import { ExitCode } from '../exit-codes.js';

/** Longer than a batch takes; shorter than a supervisor's patience (Kubernetes: 30 s before SIGKILL). */
const STOP_TIMEOUT_MS = 25_000;

export async function serve(config: Config, services: readonly ServiceName[], logger: Logger): Promise<void> {
  const runtime = await startRuntime(config, { services, logger });
  let ready = false;
  const http = createHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics: runtime.metrics,
    isReady: () => ready,
    limits: config.httpService,
  });
  const { enforcer } = runtime;
  const api = apiTokens(config, services);
  if (enforcer) {
    await http.register(decisionApi, {
      enforcer,
      metrics: runtime.metrics,
      tokens: api.tokens,
      rateLimitPerMinute: config.rateLimitPerMinute,
    });
  }
  if (runtime.admin) {
    await http.register(adminApi, {
      prefix: '/v1',
      admin: runtime.admin,
      auditTrail: runtime.auditTrail!,
      tokens: api.tokens,
      metrics: runtime.metrics,
      rateLimitPerMinute: config.rateLimitPerMinute,
      isReady: () => ready,
    });
    await http.register(consoleAssets);
  }
  let httpAddress: string;
  let policyServer: Awaited<ReturnType<typeof startPolicyServer>> | undefined;
  try {
    httpAddress = await http
      .listen({ host: config.bindAddress, port: config.httpPort })
      .catch(portProblem('RELAYGUARD_HTTP_PORT', config.bindAddress, config.httpPort));
    // Up before the enforcer is ready: until then it answers with the configured fallback, and counts it.
    policyServer = enforcer
      ? await startPolicyServer({
          enforcer,
          metrics: runtime.metrics,
          logger: logger.child({ component: 'policy-server' }),
          host: config.bindAddress,
          port: config.policyPort,
          ...config.policyService,
        }).catch(portProblem('RELAYGUARD_POLICY_PORT', config.bindAddress, config.policyPort))
      : undefined;
  } catch (error) {
    // No half-started server: a process that cannot serve on its ports stops everything it started.
    await http.close();
    await runtime.stop();
    throw error;
  }
  const { description } = runtime.adapters;
  const banner = [
    `relayguard ${services.join(' + ')} — ${config.embedded ? 'embedded mode (no Kafka, Redis or Schema Registry configured)' : 'production adapters'}`,
    `  event log:    ${description.log}`,
    `  schemas:      ${description.codec}`,
    `  window store: ${description.store}`,
    `  http:         ${httpAddress} (/healthz, /readyz, /metrics, /openapi.json${enforcer ? ', POST /v1/decisions' : ''})`,
    ...(runtime.admin
      ? [`  console:      ${httpAddress}${CONSOLE_PREFIX}/ (sign in with an admin token)`]
      : []),
    ...(policyServer
      ? [`  postfix:      check_policy_service ${postfixEndpoint(policyServer)} (see deploy/postfix/)`]
      : []),
    ...(policyServer
      ? [
          `  policy port:  answers ${config.policyService.allowedClients.map((range) => range.cidr).join(', ')} only (RELAYGUARD_POLICY_ALLOWED_CLIENTS)`,
        ]
      : []),
    ...(services.includes('webhooks')
      ? [
          `  webhooks:     ${
            config.webhooks.endpoints.length > 0
              ? `posts block events to ${config.webhooks.endpoints.map((endpoint) => endpoint.id).join(', ')}, signed`
              : 'no endpoints configured (RELAYGUARD_WEBHOOKS)'
          }`,
        ]
      : []),
    ...api.banner.map((line) => `  ${line}`),
    `  policy:       ${config.policy.mode}, block when (U >= ${config.policy.thresholds.minUnregistered} and U/T >= ${config.policy.thresholds.minUnregisteredRatio}) or (D >= ${config.policy.thresholds.minDistinctDomains} and U >= ${config.policy.thresholds.minUnregisteredWithDistinct}) in ${config.policy.windowMinutes} minutes`,
    ...(runtime.admin
      ? nextSteps(httpAddress, policyServer && postfixEndpoint(policyServer), api.generated)
      : []),
  ];
  process.stdout.write(`${banner.join('\n')}\n`);
  // Listening before readiness: a stop during startup still leaves the consumer groups cleanly.
  const stopRequested = new Promise<{ signal: NodeJS.Signals }>((resolve) => {
    process.once('SIGINT', (signal) => resolve({ signal }));
    process.once('SIGTERM', (signal) => resolve({ signal }));
  });
  // A Kafka consumer that crashed for good (or a startup that failed): stop what still runs and exit non-zero,
  // so that the supervisor restarts the process.
  const failed = Promise.race([
    runtime.adapters.fatal ?? new Promise<never>(() => {}),
    runtime.ready.then(
      () => new Promise<never>(() => {}),
      (error: unknown) => error,
    ),
  ]).then((error) => ({ error }));
  void runtime.ready.then(
    () => {
      ready = true;
      logger.info({ services }, 'relayguard is ready');
    },
    () => undefined,
  );
  const reason = await Promise.race([stopRequested, failed]);
  if ('error' in reason) {
    logger.fatal({ err: reason.error }, 'stopping after a failure that will not heal');
    process.exitCode = ExitCode.FAILURE;
  } else {
    logger.info({ signal: reason.signal }, 'shutting down: finishing the batches in hand');
  }
  // A stop that hangs (a broker gone mid-commit) must not keep the process from being restarted.
  setTimeout(() => process.exit(ExitCode.FAILURE), STOP_TIMEOUT_MS).unref();
  await policyServer?.close();
  await http.close();
  await runtime.stop();
}

/**
 * The tokens of the admin API and the decision API. With none configured, the embedded mode (a person trying
 * the product on a laptop) gets a fresh operator token, shown once in the banner and never logged, which opens
 * both; a production deployment gets none, and both APIs refuse every request until RELAYGUARD_TOKENS is set
 * (relays then fail open, as they do when relayguard is unreachable).
 */
function apiTokens(
  config: Config,
  services: readonly ServiceName[],
): { tokens: readonly ApiToken[]; banner: string[]; generated?: string } {
  const apis = [
    ...(services.includes('admin') ? ['admin api (/v1)'] : []),
    ...(services.includes('enforcer') ? ['decision api (POST /v1/decisions)'] : []),
  ].join(' and ');
  if (apis === '') return { tokens: [], banner: [] };
  if (config.tokens.length > 0) {
    return {
      tokens: config.tokens,
      banner: [`tokens:       ${config.tokens.length} from RELAYGUARD_TOKENS for the ${apis}`],
    };
  }
  if (!config.embedded) {
    return {
      tokens: [],
      banner: [`tokens:       none: the ${apis} refuse every request (RELAYGUARD_TOKENS is empty)`],
    };
  }
  // Hex, not base64url: a token that starts with "-" would read as an option after --token.
  const token = randomBytes(24).toString('hex');
  return {
    generated: token,
    tokens: [{ token, role: 'operator', tenantId: null }],
    banner: [
      `tokens:       no RELAYGUARD_TOKENS configured: generated an operator token (shown only here) for the ${apis}`,
      `admin token:  ${token}`,
    ],
  };
}

/** A port the process cannot listen on is a configuration problem: name the variable and the way out. */
function portProblem(variable: string, host: string, port: number) {
  return (error: unknown): never => {
    const problems: Record<string, string> = {
      EADDRINUSE: `${variable}: port ${port} on ${host} is already in use; choose another port, or 0 for a free one`,
      EACCES: `${variable}: port ${port} needs privileges this process does not have; choose a port above 1023, or 0 for a free one`,
      EADDRNOTAVAIL: `RELAYGUARD_BIND_ADDRESS: ${host} is not an address of this machine`,
    };
    const problem = problems[(error as { code?: string }).code ?? ''];
    if (problem === undefined) throw error;
    throw new RelayguardError('INVALID_CONFIG', `invalid configuration:\n  ${problem}`, {
      field: variable,
      cause: error,
    });
  };
}

/** What a person who just started relayguard does next, with this instance's own address, port and token. */
function nextSteps(
  httpAddress: string,
  policyEndpoint: string | undefined,
  generatedToken: string | undefined,
): string[] {
  const token = generatedToken ?? '<an operator token of RELAYGUARD_TOKENS>';
  const target = policyEndpoint?.replace(/^inet:/, 'policy://');
  return [
    'next steps, in another shell of this folder:',
    `  export RELAYGUARD_URL=${httpAddress} RELAYGUARD_TOKEN=${token}`,
    ...(target
      ? [`  npm run relayguard -- simulate --target ${target}    # a relay fleet against this instance`]
      : []),
    '  npm run relayguard -- tenants blocks    # docs/admin-api.md lists the admin commands; README.md the rest',
  ];
}
