// The least-privilege Kafka ACLs of each relayguard service, as deploy/RUNBOOK.md ("Kafka ACLs") lists them: the
// security tests grant exactly these on a real broker, or these minus one, and start the service with them.
import kafkajs, { type AclEntry } from 'kafkajs';
import { SERVICE_ACCESS } from '../../services/app/kafka-access.js';
import type { ServiceName } from '../../services/app/runtime.js';

export type AclService = ServiceName;

/**
 * deploy/RUNBOOK.md's table: the topics each service reads and writes and the groups it joins by name (the startup
 * check's own table, so what the tests grant is what the services ask for), and the prefix of the groups of its
 * own that each group-less reader of the state topics joins (KafkaEventLog.subscribe without a group).
 */
export const READER_GROUP_PREFIX = 'relayguard-reader-';

/** What to leave out of a principal's ACLs: the Read or the Write of some topics, the Read of some groups. */
export interface AclsWithout {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly groups?: readonly string[];
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
  const acls = SERVICE_ACCESS[service];
  return [
    ...acls.read.filter((topic) => !without.read?.includes(topic)).map((topic) => allow(TOPIC, topic, READ)),
    ...acls.write
      .filter((topic) => !without.write?.includes(topic))
      .map((topic) => allow(TOPIC, topic, WRITE)),
    ...[...acls.groups, READER_GROUP_PREFIX]
      .filter((group) => !without.groups?.includes(group))
      .map((group) => allow(GROUP, group, READ)),
  ] as AclEntry[];
}
