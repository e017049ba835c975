// The least-privilege Kafka ACLs of each relayguard service, as deploy/RUNBOOK.md ("Kafka ACLs") lists them: the
// security tests grant exactly these on a real broker, or these minus one, and start the service with them.
import kafkajs, { type AclEntry } from 'kafkajs';
import type { ServiceName } from '../../services/app/runtime.js';
import { SERVICE_TOPICS } from '../../services/app/topic-access.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { WEBHOOKS_GROUP_ID } from '../../services/webhooks/deliverer.js';

export type AclService = ServiceName;

/**
 * deploy/RUNBOOK.md's table: the topics each service reads and writes (the startup check's own table, so what
 * the tests grant is what the services ask for) and the consumer groups each reads (a trailing `-`: a prefix; the
 * directory's readers join a group of their own per start, KafkaEventLog.subscribe without a group).
 */
export const SERVICE_ACLS: Record<
  AclService,
  { read: readonly string[]; write: readonly string[]; groups: string[] }
> = {
  scorer: { ...SERVICE_TOPICS.scorer, groups: [SCORER_GROUP, 'relayguard-reader-'] },
  enforcer: { ...SERVICE_TOPICS.enforcer, groups: ['relayguard-reader-'] },
  admin: { ...SERVICE_TOPICS.admin, groups: ['relayguard-reader-'] },
  webhooks: {
    ...SERVICE_TOPICS.webhooks,
    groups: [WEBHOOKS_GROUP_ID, `${WEBHOOKS_GROUP_ID}-replays`, 'relayguard-reader-'],
  },
};

/** What to leave out of a principal's ACLs: the Read or the Write of some topics. */
export interface AclsWithout {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
}

/** `principal`'s ACL entries for `service`, without those `without` names. */
export function serviceAcls(service: AclService, principal: string, without: AclsWithout = {}): AclEntry[] {
  const { TOPIC, GROUP } = kafkajs.AclResourceTypes;
  const { READ, WRITE } = kafkajs.AclOperationTypes;
  const allow = (resourceType: number, resourceName: string, operation: number) => ({
    resourceType,
    resourceName,
    resourcePatternType: resourceName.endsWith('-')
      ? kafkajs.ResourcePatternTypes.PREFIXED
      : kafkajs.ResourcePatternTypes.LITERAL,
    principal: `User:${principal}`,
    host: '*',
    operation,
    permissionType: kafkajs.AclPermissionTypes.ALLOW,
  });
  const acls = SERVICE_ACLS[service];
  return [
    ...acls.read.filter((topic) => !without.read?.includes(topic)).map((topic) => allow(TOPIC, topic, READ)),
    ...acls.write
      .filter((topic) => !without.write?.includes(topic))
      .map((topic) => allow(TOPIC, topic, WRITE)),
    ...acls.groups.map((group) => allow(GROUP, group, READ)),
  ] as AclEntry[];
}
