/**
 * Topic governance (issue 16): who owns a topic and what a new topic must look like.
 *
 * Ownership: the topic config `tributary.owner` (a team or a principal). A topic created without
 * one by an authenticated principal is owned by that principal; kafka-configs can change it.
 *
 * Creation policy, the broker settings `create.topic.policy.*` (read at start; Kafka names its
 * pluggable equivalent `create.topic.policy.class.name`), checked by CreateTopics (also with
 * validate_only, as Kafka runs its policy then) and, for the partition count, CreatePartitions:
 * - `create.topic.policy.name.pattern`: a regular expression the whole name must match;
 * - `create.topic.policy.max.partitions`: partitions a topic may have;
 * - `create.topic.policy.max.retention.ms`: the largest retention.ms (-1, forever, is refused
 *   too when this is set);
 * - `create.topic.policy.require.owner`: a `tributary.owner` must be given or derived;
 * - `create.topic.policy.require.schema.validation`: `confluent.value.schema.validation=true`;
 * - `create.topic.policy.require.cloudevents`: `tributary.cloudevents.required=true`.
 * A refusal is POLICY_VIOLATION with a message naming the setting, as Kafka's PolicyViolation.
 */
import { ErrorCode } from '@tributary/protocol';

export const ownerConfig = 'tributary.owner';
const anonymous = 'User:ANONYMOUS';

export interface TopicPolicySettings {
  namePattern?: string | undefined;
  maxPartitions?: number | undefined;
  maxRetentionMs?: bigint | undefined;
  requireOwner?: boolean | undefined;
  requireSchemaValidation?: boolean | undefined;
  requireCloudEvents?: boolean | undefined;
}

export interface PolicyRefusal {
  readonly errorCode: number;
  readonly errorMessage: string;
}

/** The creation policy of one broker (TopicPolicy.none when no setting is given). */
export class TopicPolicy {
  static readonly none = new TopicPolicy({});
  readonly #settings: TopicPolicySettings;
  readonly #pattern: RegExp | undefined;

  constructor(settings: TopicPolicySettings) {
    this.#settings = settings;
    this.#pattern =
      settings.namePattern === undefined ? undefined : new RegExp(`^(?:${settings.namePattern})$`);
  }

  /** Reads the `create.topic.policy.*` settings (text values as the catalogue checked them). */
  static fromSettings(value: (name: string) => string | undefined): TopicPolicy {
    const number = (name: string) => {
      const text = value(name);
      return text === undefined ? undefined : Number(text);
    };
    const flag = (name: string) => value(name) === 'true';
    const retention = value('create.topic.policy.max.retention.ms');
    return new TopicPolicy({
      namePattern: value('create.topic.policy.name.pattern'),
      maxPartitions: number('create.topic.policy.max.partitions'),
      maxRetentionMs: retention === undefined ? undefined : BigInt(retention),
      requireOwner: flag('create.topic.policy.require.owner'),
      requireSchemaValidation: flag('create.topic.policy.require.schema.validation'),
      requireCloudEvents: flag('create.topic.policy.require.cloudevents'),
    });
  }

  /**
   * The configs a new topic is created with (the owner filled in from the principal), or why
   * the policy refuses it.
   */
  checkCreate(
    topic: { name: string; partitionCount: number; configs: Readonly<Record<string, string>> },
    principal: string,
  ): { configs: Record<string, string> } | PolicyRefusal {
    const configs = { ...topic.configs };
    if (configs[ownerConfig] === undefined && principal !== anonymous) {
      configs[ownerConfig] = principal;
    }
    const s = this.#settings;
    const refuse = (setting: string, why: string): PolicyRefusal => ({
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage: `topic ${topic.name}: ${why} (${setting})`,
    });
    if (this.#pattern !== undefined && !this.#pattern.test(topic.name)) {
      return refuse(
        'create.topic.policy.name.pattern',
        `the name does not match ${s.namePattern ?? ''}`,
      );
    }
    const partitions = this.checkPartitions(topic.name, topic.partitionCount);
    if (partitions !== undefined) return partitions;
    if (s.maxRetentionMs !== undefined) {
      const retention = BigInt(configs['retention.ms'] ?? '604800000');
      if (retention < 0n || retention > s.maxRetentionMs) {
        return refuse(
          'create.topic.policy.max.retention.ms',
          `retention.ms ${retention} is over ${s.maxRetentionMs}`,
        );
      }
    }
    if (s.requireOwner === true && !configs[ownerConfig]) {
      return refuse('create.topic.policy.require.owner', `${ownerConfig} must be set`);
    }
    if (
      s.requireSchemaValidation === true &&
      configs['confluent.value.schema.validation'] !== 'true'
    ) {
      return refuse(
        'create.topic.policy.require.schema.validation',
        'confluent.value.schema.validation must be true',
      );
    }
    if (s.requireCloudEvents === true && configs['tributary.cloudevents.required'] !== 'true') {
      return refuse(
        'create.topic.policy.require.cloudevents',
        'tributary.cloudevents.required must be true',
      );
    }
    return { configs };
  }

  /** Why a topic may not have `partitionCount` partitions, or undefined. */
  checkPartitions(name: string, partitionCount: number): PolicyRefusal | undefined {
    const max = this.#settings.maxPartitions;
    if (max === undefined || partitionCount <= max) return undefined;
    return {
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage:
        `topic ${name}: ${partitionCount} partitions are over ${max} ` +
        '(create.topic.policy.max.partitions)',
    };
  }
}
