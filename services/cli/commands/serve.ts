// `relayguard all | scorer | enforcer | admin | webhooks`: run services until SIGTERM or SIGINT, then stop
// gracefully (finish the batch in hand, commit, leave the group). What runs is wired in services/app/serve.ts;
// this command prints the banner and handles the signals.
import { CONSOLE_PREFIX } from '../../admin/console/console-assets.js';
import type { ServiceName } from '../../app/runtime.js';
import { type Servers, startServers } from '../../app/serve.js';
import { postfixEndpoint } from '../../enforcer/postfix/server.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { oneLine } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** Longer than a batch takes; shorter than a supervisor's patience (Kubernetes: 30 s before SIGKILL). */
const STOP_TIMEOUT_MS = 25_000;

export async function serve(config: Config, services: readonly ServiceName[], logger: Logger): Promise<void> {
  const servers = await startServers(config, services, logger);
  process.stdout.write(`${banner(config, services, servers).join('\n')}\n`);
  // Listening before readiness: a stop during startup still leaves the consumer groups cleanly.
  const stopRequested = new Promise<{ signal: NodeJS.Signals }>((resolve) => {
    process.once('SIGINT', (signal) => resolve({ signal }));
    process.once('SIGTERM', (signal) => resolve({ signal }));
  });
  const failed = servers.failure.then((error) => ({ error }));
  const reason = await Promise.race([stopRequested, failed]);
  if ('error' in reason) {
    logger.fatal({ err: reason.error }, 'stopping after a failure that will not heal');
    process.exitCode = ExitCode.FAILURE;
  } else {
    logger.info({ signal: reason.signal }, 'shutting down: finishing the batches in hand');
  }
  // A stop that hangs (a broker gone mid-commit) must not keep the process from being restarted.
  setTimeout(() => process.exit(ExitCode.FAILURE), STOP_TIMEOUT_MS).unref();
  await servers.stop();
  // The JSON log may go to a collector; whoever started the process reads stderr.
  if ('error' in reason) {
    process.stderr.write(
      `relayguard: stopped after a failure that will not heal: ${oneLine(reason.error)}\n`,
    );
  }
}

/** Where everything listens and what it runs on; for a person, what to do next. */
function banner(config: Config, services: readonly ServiceName[], servers: Servers): string[] {
  const { runtime, httpAddress, policyServer, tokens: api } = servers;
  const { enforcer } = runtime;
  const { description } = runtime.adapters;
  return [
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
          `  policy port:  answers ${config.postfixService.allowedClients.map((range) => range.cidr).join(', ')} only (RELAYGUARD_POSTFIX_ALLOWED_CLIENTS)`,
        ]
      : []),
    ...(services.includes('webhooks')
      ? [
          `  webhooks:     ${
            config.webhooks.endpoints.length > 0
              ? `posts block events to ${config.webhooks.endpoints.map((endpoint) => endpoint.id).join(', ')} and to the endpoints registered with \`relayguard webhooks add\`, signed`
              : 'posts block events to the endpoints registered with `relayguard webhooks add` (none in RELAYGUARD_WEBHOOKS), signed'
          }`,
        ]
      : []),
    ...api.banner.map((line) => `  ${line}`),
    `  policy:       ${config.policy.mode}, block when (U >= ${config.policy.thresholds.minUnregistered} and U/T >= ${config.policy.thresholds.minUnregisteredRatio}) or (D >= ${config.policy.thresholds.minDistinctDomains} and U >= ${config.policy.thresholds.minUnregisteredWithDistinct}) in ${config.policy.windowMinutes} minutes`,
    ...(runtime.admin
      ? nextSteps(httpAddress, policyServer && postfixEndpoint(policyServer), api.generated)
      : []),
  ];
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
