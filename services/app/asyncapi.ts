// The AsyncAPI 3 contract of relayguard's topics, built from the same sources the code uses: the topic names and
// schema files (services/core/topics.ts), the topic plan of `relayguard topics` (partitions, compaction) and
// schemas/*.avsc, so it cannot drift from them. The admin service serves it at /asyncapi.json;
// scripts/gen-asyncapi.ts writes it to docs/asyncapi.yaml (`npm run gen`).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { CompactedTopics, type ContractTopic, TopicSchemas, Topics } from '../core/topics.js';
import { readSchema } from '../platform/codec/avro.js';
import { plannedTopics } from '../platform/kafka/topic-plan.js';
import { projectPath } from '../platform/project-files.js';
import { DlqHeaders } from '../scorer/dead-letter.js';
import { WebhookDlqHeaders } from '../webhooks/deliverer.js';

type Topic = (typeof Topics)[keyof typeof Topics];
type Service = 'scorer' | 'enforcer' | 'admin' | 'webhooks';

interface ChannelFacts {
  /** The channel's id in the document. */
  readonly id: string;
  readonly description: string;
  /** What the key is. */
  readonly key: string;
  readonly sends: readonly Service[];
  readonly receives: readonly Service[];
  /** A topic without an Avro schema: its records' bytes and headers. */
  readonly raw?: { readonly name: string; readonly payload: string; readonly headers: readonly string[] };
}

/** Who writes and who reads each topic, and what its key means. A new topic must be added here (the type says so). */
const CHANNELS: Record<Topic, ChannelFacts> = {
  [Topics.messageSubmitted]: {
    id: 'messageSubmitted',
    description:
      'One event per message a relay accepted. Relays publish it themselves with the relay SDK (relayguard/sdk); for Postfix the enforcer publishes it from the policy request at END-OF-MESSAGE.',
    key: 'tenantId: all of a tenant’s events in one partition, in order.',
    sends: ['enforcer'],
    receives: ['scorer'],
  },
  [Topics.messageSubmittedDlq]: {
    id: 'messageSubmittedDlq',
    description:
      'Poison message-submitted events (undecodable, invalid), with their original bytes and headers naming their source and the error, for an operator to inspect, fix and replay.',
    key: 'The original record’s key.',
    sends: ['scorer'],
    receives: [],
    raw: {
      name: 'DeadLetter',
      payload: 'The original record’s bytes, unchanged.',
      headers: Object.values(DlqHeaders),
    },
  },
  [Topics.tenantBlocks]: {
    id: 'tenantBlocks',
    description:
      'Blocks (the scorer’s decisions, with evidence) and unblocks (operators and self-service, through the admin API). Compacted: a tenant’s latest event is its block state. Downstream services follow it with relayguard/subscriber, or receive it as signed webhooks (docs/subscribers.md).',
    key: 'tenantId: the latest record of a tenant is its current block state.',
    sends: ['scorer', 'admin'],
    receives: ['enforcer', 'scorer', 'admin', 'webhooks'],
  },
  [Topics.acceptedDomains]: {
    id: 'acceptedDomains',
    description: 'A tenant’s registered (accepted) domains, added and removed through the admin API.',
    key: 'tenantId/domain: one record per accepted domain.',
    sends: ['admin'],
    receives: ['scorer', 'enforcer', 'admin'],
  },
  [Topics.connectors]: {
    id: 'connectors',
    description:
      'A tenant’s inbound connectors (IP ranges, TLS certificate domain, relay path), set through the admin API.',
    key: 'tenantId/connectorId: one record per connector.',
    sends: ['admin'],
    receives: ['scorer', 'enforcer', 'admin'],
  },
  [Topics.tenantPolicies]: {
    id: 'tenantPolicies',
    description: 'Per-tenant policy overrides (thresholds, monitor mode), set through the admin API.',
    key: 'tenantId.',
    sends: ['admin'],
    receives: ['scorer', 'enforcer', 'admin'],
  },
  [Topics.audit]: {
    id: 'audit',
    description: 'Who did what through the admin API: every change, with actor, role and ticket.',
    key: 'tenantId.',
    sends: ['admin'],
    receives: [],
  },
  [Topics.webhooksDlq]: {
    id: 'webhooksDlq',
    description:
      'Webhook deliveries that failed for good (attempts exhausted, refused by the receiver or by the destination check), with the endpoint and the reason, to inspect and post again.',
    key: 'tenantId.',
    sends: ['webhooks'],
    receives: [],
    raw: {
      name: 'FailedWebhook',
      payload: 'The CloudEvent (structured JSON) as it would have been posted.',
      headers: Object.values(WebhookDlqHeaders),
    },
  },
  [Topics.webhookEndpoints]: {
    id: 'webhookEndpoints',
    description:
      'Webhook endpoints registered, changed and removed through the admin API (URL, signing secret, event kinds, tenants). Compacted: an endpoint’s latest event is the endpoint. It carries the signing secrets: only the admin service and the webhook deliverer read it.',
    key: 'endpointId: one record per endpoint.',
    sends: ['admin'],
    receives: ['admin', 'webhooks'],
  },
  [Topics.webhookDeliveries]: {
    id: 'webhookDeliveries',
    description:
      'The webhook delivery log: the outcome of each attempt per endpoint and event (delivered, retrying, dead-lettered, with the attempt count and the last error), read by the admin API’s delivery log.',
    key: 'endpointId.',
    sends: ['webhooks'],
    receives: ['admin'],
  },
  [Topics.webhookReplays]: {
    id: 'webhookReplays',
    description:
      'Events an operator asked to deliver again to one endpoint (`relayguard webhooks replay`, from its dead letters or from a time): the admin service publishes them, the webhook deliverer delivers them in order per tenant.',
    key: 'tenantId: a tenant’s replayed events in order.',
    sends: ['admin'],
    receives: ['webhooks'],
  },
};

const SERVICES: Record<Service, string> = {
  scorer: 'relayguard scorer: scores MessageSubmitted in event-time windows and publishes block decisions.',
  enforcer:
    'relayguard enforcer: materializes block state and answers relays (Postfix policy protocol, HTTP).',
  admin: 'relayguard admin: the admin API (domains, connectors, policies, unblock) and the audit trail.',
  webhooks: 'relayguard webhooks: posts block and unblock events to the configured endpoints, signed.',
};

const AVRO_FORMAT = 'application/vnd.apache.avro+json;version=1.9.0';
const KAFKA_BINDING = '0.5.0';
const capitalized = (id: string) => id[0]!.toUpperCase() + id.slice(1);

function message(topic: Topic, facts: ChannelFacts): Record<string, unknown> {
  const key = { type: 'string', description: facts.key };
  if (facts.raw) {
    return {
      name: facts.raw.name,
      title: facts.raw.name,
      contentType: 'application/octet-stream',
      headers: {
        type: 'object',
        properties: Object.fromEntries(facts.raw.headers.map((header) => [header, { type: 'string' }])),
      },
      payload: { type: 'string', format: 'binary', description: facts.raw.payload },
      bindings: { kafka: { key, bindingVersion: KAFKA_BINDING } },
    };
  }
  const schema = readSchema(topic as ContractTopic) as { name: string; doc?: string };
  return {
    name: schema.name,
    title: schema.name,
    summary: schema.doc,
    contentType: 'application/octet-stream',
    description: `Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), schemas/${TopicSchemas[topic as ContractTopic]} registered under the subject ${topic}-value with BACKWARD_TRANSITIVE compatibility.`,
    payload: { schemaFormat: AVRO_FORMAT, schema },
    bindings: {
      kafka: {
        key,
        schemaIdLocation: 'payload',
        schemaIdPayloadEncoding: 'confluent',
        schemaLookupStrategy: 'TopicNameStrategy',
        bindingVersion: KAFKA_BINDING,
      },
    },
  };
}

function durations(configs: Readonly<Record<string, string>>, names: readonly string[]) {
  return Object.fromEntries(
    names.filter((name) => name in configs).map((name) => [name, Number(configs[name])]),
  );
}

export function asyncApiDocument(): Record<string, unknown> {
  const version = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string })
    .version;
  // The topic plan with `relayguard topics`' defaults: partitions scale with RELAYGUARD_PARTITIONS (12).
  const plan = new Map(
    plannedTopics({ partitions: 12, statePartitions: 3, replicationFactor: 3 }).map((spec) => [
      spec.topic,
      spec,
    ]),
  );
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const topic of Object.values(Topics)) {
    const facts = CHANNELS[topic];
    const spec = plan.get(topic)!;
    const built = message(topic, facts);
    const messageId = built.name as string;
    messages[messageId] = built;
    channels[facts.id] = {
      address: topic,
      title: topic,
      description: facts.description,
      messages: { [messageId]: { $ref: `#/components/messages/${messageId}` } },
      bindings: {
        kafka: {
          topic,
          partitions: spec.partitions,
          replicas: spec.replicationFactor,
          topicConfiguration: {
            'cleanup.policy': [CompactedTopics.includes(topic) ? 'compact' : 'delete'],
            // How long a subscriber may stay away: events expire, tombstones of removed objects are readable this long.
            ...durations(spec.configs, ['retention.ms', 'delete.retention.ms']),
          },
          bindingVersion: KAFKA_BINDING,
        },
      },
    };
    for (const [action, services] of [
      ['send', facts.sends],
      ['receive', facts.receives],
    ] as const) {
      for (const service of services) {
        operations[`${service}${action === 'send' ? 'Sends' : 'Receives'}${capitalized(facts.id)}`] = {
          action,
          title: `${service} ${action === 'send' ? 'publishes to' : 'consumes'} ${topic}`,
          channel: { $ref: `#/channels/${facts.id}` },
          messages: [{ $ref: `#/channels/${facts.id}/messages/${messageId}` }],
          tags: [{ $ref: `#/components/tags/${service}` }],
        };
      }
    }
  }
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'relayguard',
      version,
      description:
        'The Kafka topics relayguard produces and consumes. Built by services/app/asyncapi.ts from services/core/topics.ts, the topic plan of `relayguard topics` (partitions and replicas are its defaults) and schemas/*.avsc: run `npm run gen` after changing them.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/octet-stream',
    servers: {
      production: {
        host: 'kafka:9092',
        protocol: 'kafka',
        description:
          'The brokers of KAFKA_BROKERS; SASL and TLS as KAFKA_SASL_* and KAFKA_SSL configure them.',
      },
    },
    channels,
    operations,
    components: {
      messages,
      tags: Object.fromEntries(
        Object.entries(SERVICES).map(([name, description]) => [name, { name, description }]),
      ),
    },
  };
}

/** GET /asyncapi.json, served by the admin service beside /openapi.json: built once, from the running code. */
export async function asyncApiRoute(app: FastifyInstance): Promise<void> {
  const document = asyncApiDocument();
  app.get('/asyncapi.json', { schema: { hide: true } }, async () => document);
}
