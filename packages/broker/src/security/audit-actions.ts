/**
 * Which requests the audit log records (audit-log.ts) and what each acted on, read from the
 * decoded request. Only names: never config values (they may be passwords), SCRAM salts and
 * keys, or authentication bytes.
 */
import { ApiKey, apiName } from '@tributary/protocol';
import type { AuditLog } from './audit-log.ts';

/** What of a request's context an entry takes (RequestContext has it; handler.ts calls here). */
export interface AuditContext {
  readonly runtime: { readonly audit?: AuditLog | undefined; now(): number };
  readonly principal: string;
  readonly clientId: string | null;
  readonly peer: string;
}

type Resources = (request: Record<string, unknown>) => string[];

const list = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

const topicsByName: Resources = (request) =>
  list(request['topics']).map((topic) => `topic:${text(topic['name'])}`);

const configResources: Resources = (request) =>
  list(request['resources']).map((resource) => {
    const names = list(resource['configs']).map((config) => text(config['name']));
    return `config:${text(resource['resourceType'])}:${text(resource['resourceName'])}:${names.join(',')}`;
  });

const audited = new Map<number, Resources>([
  [ApiKey.CreateTopics, topicsByName],
  [
    ApiKey.DeleteTopics,
    (request) => [
      ...list(request['topics']).map((topic) => `topic:${text(topic['name'] ?? topic['topicId'])}`),
      ...(Array.isArray(request['topicNames']) ? request['topicNames'] : []).map(
        (name) => `topic:${text(name)}`,
      ),
    ],
  ],
  [ApiKey.CreatePartitions, topicsByName],
  [ApiKey.DeleteRecords, topicsByName],
  [ApiKey.AlterConfigs, configResources],
  [ApiKey.IncrementalAlterConfigs, configResources],
  [
    ApiKey.CreateAcls,
    (request) =>
      list(request['creations']).map(
        (acl) =>
          `acl:${text(acl['resourceType'])}:${text(acl['resourceName'])}:` +
          `${text(acl['principal'])}:${text(acl['operation'])}:${text(acl['permissionType'])}`,
      ),
  ],
  [
    ApiKey.DeleteAcls,
    (request) =>
      list(request['filters']).map(
        (filter) =>
          `acl-filter:${text(filter['resourceTypeFilter'])}:${text(filter['resourceNameFilter'])}:` +
          `${text(filter['principalFilter'])}`,
      ),
  ],
  [
    ApiKey.AlterUserScramCredentials,
    (request) => [
      ...list(request['upsertions']).map((user) => `scram-upsert:${text(user['name'])}`),
      ...list(request['deletions']).map((user) => `scram-delete:${text(user['name'])}`),
    ],
  ],
  [
    ApiKey.AlterClientQuotas,
    (request) =>
      list(request['entries']).map(
        (entry) =>
          'quota:' +
          list(entry['entity'])
            .map((part) => `${text(part['entityType'])}=${text(part['entityName'] ?? '<default>')}`)
            .join(','),
      ),
  ],
  [
    ApiKey.DeleteGroups,
    (request) =>
      (Array.isArray(request['groupsNames']) ? request['groupsNames'] : []).map(
        (group) => `group:${text(group)}`,
      ),
  ],
  [ApiKey.OffsetDelete, (request) => [`group:${text(request['groupId'])}`]],
  // Authentication: the mechanism's bytes are secret; only the outcome is kept (failures).
  [ApiKey.SaslAuthenticate, () => []],
]);

/** Records an audited request in the runtime's audit log, once its answer is known. */
export function auditRequest(
  context: AuditContext,
  apiKey: number,
  request: unknown,
  result: () => string,
): void {
  const audit = context.runtime.audit;
  const resourcesOf = audited.get(apiKey);
  if (audit === undefined || resourcesOf === undefined) return;
  const outcome = result();
  // A successful SASL exchange step is not an action; a refused one is.
  if (apiKey === ApiKey.SaslAuthenticate && outcome === 'ok') return;
  audit.record({
    time: new Date(context.runtime.now()).toISOString(),
    principal: context.principal,
    clientId: context.clientId,
    peer: context.peer,
    action: apiName(apiKey),
    resources: resourcesOf(request as Record<string, unknown>),
    result: outcome,
  });
}
