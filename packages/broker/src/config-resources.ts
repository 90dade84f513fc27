/**
 * Kafka's numeric codes around configs: resource types (DescribeConfigs, AlterConfigs), config
 * sources and config types as DescribeConfigs reports them, and IncrementalAlterConfigs operations;
 * and the one change-request shape both alter APIs are turned into.
 */
import { ErrorCode } from '@tributary/protocol';
import type { KafkaError } from './kafka-errors.ts';

export const ConfigResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const typeCodes: Readonly<Record<string, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

export function configTypeCode(type: string | undefined): number {
  return type === undefined ? 0 : (typeCodes[type.toLowerCase()] ?? 0);
}

export interface ConfigChange {
  readonly name: string;
  readonly operation: number;
  readonly value: string | null;
}

export interface ChangeRequest {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly changes: readonly ConfigChange[];
  /** AlterConfigs semantics: values not named go back to their defaults. */
  readonly replaceAll: boolean;
  readonly validateOnly: boolean;
}

/** The new override value (null removes it), or an error. */
export function resolveConfigValue(
  change: ConfigChange,
  current: string | undefined,
): string | null | KafkaError {
  switch (change.operation) {
    case ConfigOperation.SET:
      return change.value;
    case ConfigOperation.DELETE:
      return null;
    case ConfigOperation.APPEND:
    case ConfigOperation.SUBTRACT: {
      const items = (current ?? '').split(',').filter((item) => item !== '');
      const given = (change.value ?? '').split(',').filter((item) => item !== '');
      const next =
        change.operation === ConfigOperation.APPEND
          ? [...items, ...given.filter((item) => !items.includes(item))]
          : items.filter((item) => !given.includes(item));
      return next.join(',');
    }
    default:
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown operation ${change.operation}`,
      };
  }
}
