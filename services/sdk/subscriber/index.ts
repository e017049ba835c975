// relayguard/subscriber: what a downstream service imports to follow tenant blocks (package.json "exports").
// It loads the Kafka and Schema Registry adapters and the event contracts, never the relay SDK or a service:
// test/unit/sdk/subscriber-entry.test.ts checks the module graph.
export type {
  BlockEventKind,
  BlockEvidence,
  BlockReason,
  PolicyMode,
  TenantBlockEvent,
  TenantBlocked,
  TenantUnblocked,
  UnblockSource,
} from '../../core/contracts.generated.js';
export { isRelayguardError, RelayguardError } from '../../core/errors.js';
export type { EventLog, SchemaCodec } from '../../platform/ports.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  verifyWebhook,
  type WebhookVerdict,
  type WebhookVerification,
} from '../webhook-signature.js';
export { BlockSubscriber, type BlockSubscriberOptions } from './block-subscriber.js';
export type {
  BlockChange,
  BlockedChange,
  CurrentBlock,
  TopicPosition,
  UnblockedChange,
} from './block-view.js';
export { type KafkaBlockSubscriberOptions, kafkaBlockSubscriber } from './connect.js';
