// The relay SDK: what a relay that is not Postfix imports to publish MessageSubmitted to Kafka itself.
// It works on relayguard's ports, so the same code runs on the Kafka adapter in production and on the memory
// adapters in tests. See README.md beside this file.
export type { MessageSubmitted, RelayPath } from '../core/contracts.generated.js';
export { isRelayguardError, RelayguardError } from '../core/errors.js';
export type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';
export { type SubmittedMessage, toMessageSubmitted } from './message.js';
export { type DeliveryCallback, MessagePublisher, type MessagePublisherOptions } from './publisher.js';
