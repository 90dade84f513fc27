/**
 * Prints a FileDescriptorProto (what confluent-kafka Python registers, base64) as .proto text,
 * the form Confluent serves by default and the form clients that parse .proto text (such as
 * @kafkajs/confluent-schema-registry) can read. Covers messages, nested types, enums, oneofs,
 * maps (descriptors carry them as map_entry messages), labels and imports; options are not
 * printed.
 */
import protobuf from 'protobufjs';

export interface ProtoTextFile {
  readonly syntax: string;
  readonly packageName: string;
  readonly imports: readonly string[];
  /** The file's top-level types, in declaration order. */
  readonly types: readonly (protobuf.Type | protobuf.Enum)[];
}

const indentUnit = '  ';

export function printProtoFile(file: ProtoTextFile): string {
  const lines = [`syntax = "${file.syntax}";`];
  if (file.packageName !== '') lines.push(`package ${file.packageName};`);
  for (const name of file.imports) lines.push(`import "${name}";`);
  for (const type of file.types) {
    lines.push('');
    printType(lines, type, '', file);
  }
  return `${lines.join('\n')}\n`;
}

function printType(
  lines: string[],
  type: protobuf.Type | protobuf.Enum,
  indent: string,
  file: ProtoTextFile,
): void {
  if (type instanceof protobuf.Enum) {
    lines.push(`${indent}enum ${type.name} {`);
    for (const [name, value] of Object.entries(type.values)) {
      lines.push(`${indent}${indentUnit}${name} = ${value};`);
    }
    lines.push(`${indent}}`);
    return;
  }
  lines.push(`${indent}message ${type.name} {`);
  const inner = indent + indentUnit;
  const printed = new Set<string>();
  for (const field of type.fieldsArray) {
    const oneof = field.partOf;
    if (oneof !== null && !isSyntheticOneof(oneof)) {
      if (printed.has(oneof.name)) continue;
      printed.add(oneof.name);
      lines.push(`${inner}oneof ${oneof.name} {`);
      for (const member of oneof.fieldsArray) {
        lines.push(`${inner}${indentUnit}${fieldLine(member, file, true)}`);
      }
      lines.push(`${inner}}`);
      continue;
    }
    lines.push(`${inner}${fieldLine(field, file, false)}`);
  }
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type && isMapEntry(nested)) continue;
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
      printType(lines, nested, inner, file);
    }
  }
  lines.push(`${indent}}`);
}

/** A map field arrives from a descriptor as a repeated nested `map_entry` message. */
export function isMapEntry(type: protobuf.Type): boolean {
  return type.options?.['map_entry'] === true || type.options?.['mapEntry'] === true;
}

/** The map entry type of a field that is a map in descriptor form. */
export function mapEntryOf(field: protobuf.Field): protobuf.Type | undefined {
  if (!field.repeated) return undefined;
  const entry = field.parent instanceof protobuf.Type ? field.parent.get(field.type) : null;
  return entry instanceof protobuf.Type && isMapEntry(entry) ? entry : undefined;
}

/** proto3 `optional` fields sit in a synthetic oneof named `_<field>`. */
function isSyntheticOneof(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.name === `_${oneof.fieldsArray[0]?.name ?? ''}`;
}

function fieldLine(field: protobuf.Field, file: ProtoTextFile, inOneof: boolean): string {
  // Message and enum types are fully qualified ('.shop.Money'), valid as they are in .proto.
  const type = field.type;
  if (field instanceof protobuf.MapField) {
    return `map<${field.keyType}, ${type}> ${field.name} = ${field.id};`;
  }
  const entry = mapEntryOf(field);
  if (entry !== undefined) {
    const key = entry.fields['key']?.type ?? 'string';
    return `map<${key}, ${entry.fields['value']?.type ?? 'bytes'}> ${field.name} = ${field.id};`;
  }
  let label = '';
  if (!inOneof) {
    if (field.repeated) label = 'repeated ';
    else if (field.required) label = 'required ';
    else if (file.syntax === 'proto2' || field.partOf !== null) label = 'optional ';
  }
  return `${label}${type} ${field.name} = ${field.id};`;
}
