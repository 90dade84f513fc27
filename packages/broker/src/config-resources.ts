/**
 * Kafka's numeric codes around configs: resource types (DescribeConfigs, AlterConfigs), config
 * sources and config types as DescribeConfigs reports them, and IncrementalAlterConfigs operations.
 */

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
