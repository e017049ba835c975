// The servers of `relayguard all | scorer | enforcer | admin | webhooks`: the runtime's services behind the HTTP
// APIs (decisions, admin, console) and the Postfix policy server, on the configured ports.
import { randomBytes } from 'node:crypto';
import { consoleAssets } from '../admin/console/console-assets.js';
import { adminApi } from '../admin/http/admin-api.js';
import { RelayguardError } from '../core/errors.js';
import { decisionApi } from '../enforcer/decision-api.js';
import { type PolicyServer, startPolicyServer } from '../enforcer/postfix/server.js';
import type { ApiToken, Config } from '../platform/config.js';
import { createHttpServer } from '../platform/http-server.js';
import type { Logger } from '../platform/logger.js';
import { asyncApiRoute } from './asyncapi.js';
import { type Runtime, type ServiceName, startRuntime } from './runtime.js';

export interface Servers {
  readonly runtime: Runtime;
  readonly httpAddress: string;
  /** Absent unless the enforcer runs. */
  readonly policyServer: PolicyServer | undefined;
  readonly tokens: ApiTokens;
  /**
   * Resolves with the error of a Kafka consumer that crashed for good, or of a startup that failed: the process
   * must then stop and exit non-zero, so that its supervisor restarts it.
   */
  readonly failure: Promise<unknown>;
  /** Closes the servers, then the services (finishing the batches in hand). */
  stop(): Promise<void>;
}

export interface ApiTokens {
  readonly tokens: readonly ApiToken[];
  /** What the startup banner says about them. */
  readonly banner: readonly string[];
  /** The operator token generated in embedded mode, shown once in the banner. */
  readonly generated?: string;
}

export async function startServers(
  config: Config,
  services: readonly ServiceName[],
  logger: Logger,
): Promise<Servers> {
  const runtime = await startRuntime(config, { services, logger });
  let ready = false;
  const http = createHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics: runtime.metrics,
    isReady: () => ready,
    limits: config.httpService,
    failedTokensPerMinute: config.rateLimitPerMinute,
  });
  const { enforcer } = runtime;
  const api = apiTokens(config, services);
  if (enforcer) {
    await http.register(decisionApi, {
      enforcer,
      metrics: runtime.metrics,
      tokens: api.tokens,
      rateLimitPerMinute: config.relayRateLimitPerMinute,
    });
  }
  if (runtime.admin) {
    await http.register(adminApi, {
      prefix: '/v1',
      admin: runtime.admin,
      auditTrail: runtime.auditTrail!,
      webhooks: runtime.webhookEndpoints!,
      tokens: api.tokens,
      metrics: runtime.metrics,
      rateLimitPerMinute: config.rateLimitPerMinute,
      isReady: () => ready,
    });
    await http.register(consoleAssets);
    await http.register(asyncApiRoute);
  }
  let httpAddress: string;
  let policyServer: PolicyServer | undefined;
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
          port: config.postfixPort,
          ...config.postfixService,
        }).catch(portProblem('RELAYGUARD_POSTFIX_PORT', config.bindAddress, config.postfixPort))
      : undefined;
  } catch (error) {
    // No half-started server: a process that cannot serve on its ports stops everything it started.
    await http.close();
    await runtime.stop();
    throw error;
  }
  void runtime.ready.then(
    () => {
      ready = true;
      logger.info({ services }, 'relayguard is ready');
    },
    () => undefined,
  );
  const failure = Promise.race([
    runtime.adapters.fatal ?? new Promise<never>(() => {}),
    runtime.ready.then(
      () => new Promise<never>(() => {}),
      (error: unknown) => error,
    ),
  ]);
  return {
    runtime,
    httpAddress,
    policyServer,
    tokens: api,
    failure,
    stop: async () => {
      await policyServer?.close();
      await http.close();
      await runtime.stop();
    },
  };
}

/**
 * The tokens of the admin API and the decision API. With none configured, the embedded mode (a person trying
 * the product on a laptop) gets a fresh operator token, shown once in the banner and never logged, which opens
 * both; a production deployment gets none, and both APIs refuse every request until RELAYGUARD_TOKENS is set
 * (relays then fail open, as they do when relayguard is unreachable).
 */
function apiTokens(config: Config, services: readonly ServiceName[]): ApiTokens {
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
