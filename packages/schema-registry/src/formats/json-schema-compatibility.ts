/**
 * JSON Schema compatibility, after Confluent's JsonSchemaDiff: a reader can read a writer when
 * every document the writer accepts, the reader accepts too. The checks walk both schemas side
 * by side and name each incompatible change with Confluent's difference type (TYPE_NARROWED,
 * PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, MAX_LENGTH_DECREASED, ...). Changes that only widen what
 * the reader accepts are compatible. Covered: type, enum/const, string and number bounds,
 * pattern, object properties with open, closed and partially open content models, required,
 * array items and bounds, oneOf/anyOf/allOf, and local and referenced $ref. Not covered (always
 * compatible here): dependencies, if/then/else, not, patternProperties.
 */

export type JsonNode = boolean | { readonly [key: string]: unknown };

export interface JsonDocument {
  readonly root: JsonNode;
  /** Referenced schemas by reference name (what `$ref` names). */
  readonly references: ReadonlyMap<string, JsonNode>;
}

interface Walk {
  readonly reader: JsonDocument;
  readonly writer: JsonDocument;
  readonly problems: string[];
  /** Pairs already on the path: recursive schemas end here instead of looping. */
  readonly seen: Set<string>;
}

/** Confluent's verdict messages for reading `writer` data with `reader`; empty = compatible. */
export function jsonReadingProblems(reader: JsonDocument, writer: JsonDocument): string[] {
  const walk: Walk = { reader, writer, problems: [], seen: new Set() };
  compare(walk, reader.root, writer.root, '#');
  return walk.problems;
}

function report(walk: Walk, path: string, type: string): void {
  walk.problems.push(`Difference{jsonPath='${path}', type=${type}}`);
}

type Obj = { readonly [key: string]: unknown };

function resolve(document: JsonDocument, node: unknown, depth = 0): JsonNode {
  if (typeof node === 'boolean') return node;
  if (typeof node !== 'object' || node === null) return true;
  const ref = (node as Obj).$ref;
  if (typeof ref !== 'string' || depth > 32) return node as Obj;
  const [target = '', pointer = ''] = ref.split('#');
  const base = target === '' ? document.root : document.references.get(target);
  if (base === undefined) return node as Obj;
  let found: unknown = base;
  for (const part of pointer.split('/').filter((piece) => piece !== '')) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
    found = typeof found === 'object' && found !== null ? (found as Obj)[key] : undefined;
  }
  return resolve(document, found, depth + 1);
}

function compare(walk: Walk, readerNode: unknown, writerNode: unknown, path: string): void {
  const reader = resolve(walk.reader, readerNode);
  const writer = resolve(walk.writer, writerNode);
  if (reader === true || writer === false) return;
  if (reader === false) return report(walk, path, 'TYPE_NARROWED');
  const writerObj: Obj = writer === true ? {} : writer;
  const key = `${path}|${JSON.stringify(reader)}|${JSON.stringify(writerObj)}`;
  if (walk.seen.has(key)) return;
  walk.seen.add(key);
  if (compareCombined(walk, reader, writerObj, path)) return;
  compareTypes(walk, reader, writerObj, path);
  compareEnums(walk, reader, writerObj, path);
  compareBounds(walk, reader, writerObj, path);
  compareObjects(walk, reader, writerObj, path);
  compareArrays(walk, reader, writerObj, path);
}

const sumKeywords = ['oneOf', 'anyOf'] as const;

/** oneOf/anyOf/allOf; true when it decided the pair (the branches were compared instead). */
function compareCombined(walk: Walk, reader: Obj, writer: Obj, path: string): boolean {
  const readerSum = sumKeywords.map((keyword) => reader[keyword]).find(Array.isArray);
  const writerSum = sumKeywords.map((keyword) => writer[keyword]).find(Array.isArray);
  if (writerSum !== undefined) {
    // Every branch the writer may use must be readable.
    writerSum.forEach((branch: unknown, index: number) => {
      const sub = { ...walk, problems: [] as string[] };
      compare(sub, reader, branch, `${path}/oneOf/${index}`);
      walk.problems.push(...sub.problems);
    });
    return true;
  }
  if (readerSum !== undefined) {
    const fits = readerSum.some((branch: unknown) => {
      const sub = { ...walk, problems: [] as string[], seen: new Set<string>() };
      compare(sub, branch, writer, path);
      return sub.problems.length === 0;
    });
    if (!fits) report(walk, path, 'SUM_TYPE_NARROWED');
    return true;
  }
  const readerAll = Array.isArray(reader.allOf) ? (reader.allOf as unknown[]) : undefined;
  if (readerAll !== undefined) {
    const writerAll = Array.isArray(writer.allOf) ? (writer.allOf as unknown[]) : [writer];
    if (readerAll.length > writerAll.length) report(walk, path, 'PRODUCT_TYPE_EXTENDED');
    readerAll.forEach((branch, index) => {
      compare(walk, branch, writerAll[Math.min(index, writerAll.length - 1)], path);
    });
    return true;
  }
  return false;
}

function typesOf(node: Obj): Set<string> | undefined {
  const type = node.type;
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.map(String));
  return undefined;
}

function compareTypes(walk: Walk, reader: Obj, writer: Obj, path: string): void {
  const readerTypes = typesOf(reader);
  if (readerTypes === undefined) return;
  const writerTypes = typesOf(writer);
  if (writerTypes === undefined) return report(walk, path, 'TYPE_NARROWED');
  for (const type of writerTypes) {
    const accepted = readerTypes.has(type) || (type === 'integer' && readerTypes.has('number'));
    if (!accepted) {
      const changed = writerTypes.size === 1 && readerTypes.size === 1;
      return report(walk, path, changed ? 'TYPE_CHANGED' : 'TYPE_NARROWED');
    }
  }
}

function compareEnums(walk: Walk, reader: Obj, writer: Obj, path: string): void {
  const readerValues = valuesOf(reader);
  if (readerValues === undefined) return;
  const writerValues = valuesOf(writer);
  if (writerValues === undefined) return report(walk, path, 'ENUM_ARRAY_CHANGED');
  const accepted = new Set(readerValues.map((value) => JSON.stringify(value)));
  if (!writerValues.every((value) => accepted.has(JSON.stringify(value)))) {
    report(walk, path, 'ENUM_ARRAY_NARROWED');
  }
}

function valuesOf(node: Obj): unknown[] | undefined {
  if (Array.isArray(node.enum)) return node.enum as unknown[];
  return 'const' in node ? [node.const] : undefined;
}

/** [keyword, the reader may not be lower (min) or higher (max) than the writer, type name]. */
const bounds: readonly (readonly [string, 'min' | 'max', string])[] = [
  ['maxLength', 'max', 'MAX_LENGTH'],
  ['minLength', 'min', 'MIN_LENGTH'],
  ['maximum', 'max', 'MAXIMUM'],
  ['minimum', 'min', 'MINIMUM'],
  ['exclusiveMaximum', 'max', 'EXCLUSIVE_MAXIMUM'],
  ['exclusiveMinimum', 'min', 'EXCLUSIVE_MINIMUM'],
  ['maxItems', 'max', 'MAX_ITEMS'],
  ['minItems', 'min', 'MIN_ITEMS'],
  ['maxProperties', 'max', 'MAX_PROPERTIES'],
  ['minProperties', 'min', 'MIN_PROPERTIES'],
];

function compareBounds(walk: Walk, reader: Obj, writer: Obj, path: string): void {
  for (const [keyword, side, name] of bounds) {
    const limit = reader[keyword];
    if (typeof limit !== 'number') continue;
    const before = writer[keyword];
    if (typeof before !== 'number') {
      report(walk, path, `${name}_ADDED`);
    } else if (side === 'max' ? limit < before : limit > before) {
      report(walk, path, `${name}_${side === 'max' ? 'DECREASED' : 'INCREASED'}`);
    }
  }
  if (typeof reader.pattern === 'string' && reader.pattern !== writer.pattern) {
    report(walk, path, writer.pattern === undefined ? 'PATTERN_ADDED' : 'PATTERN_CHANGED');
  }
  if (typeof reader.multipleOf === 'number') {
    const before = writer.multipleOf;
    if (typeof before !== 'number') report(walk, path, 'MULTIPLE_OF_ADDED');
    else if (before % reader.multipleOf !== 0) report(walk, path, 'MULTIPLE_OF_CHANGED');
  }
  if (reader.uniqueItems === true && writer.uniqueItems !== true) {
    report(walk, path, 'UNIQUE_ITEMS_ADDED');
  }
}

function propertiesOf(node: Obj): Obj {
  const properties = node.properties;
  return typeof properties === 'object' && properties !== null ? (properties as Obj) : {};
}

function requiredOf(node: Obj): Set<string> {
  return new Set(Array.isArray(node.required) ? node.required.map(String) : []);
}

/** additionalProperties: true (open), false (closed) or a schema (partially open). */
function extraOf(node: Obj): unknown {
  return node.additionalProperties ?? true;
}

function compareObjects(walk: Walk, reader: Obj, writer: Obj, path: string): void {
  const readerProperties = propertiesOf(reader);
  const writerProperties = propertiesOf(writer);
  const readerRequired = requiredOf(reader);
  const writerRequired = requiredOf(writer);
  const readerExtra = extraOf(reader);
  const writerExtra = extraOf(writer);
  for (const [name, schema] of Object.entries(readerProperties)) {
    const at = `${path}/properties/${name}`;
    if (name in writerProperties) {
      compare(walk, schema, writerProperties[name], at);
      if (readerRequired.has(name) && !writerRequired.has(name)) {
        report(walk, at, 'REQUIRED_ATTRIBUTE_ADDED');
      }
    } else if (writerExtra === true) {
      report(walk, at, 'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL');
    } else if (writerExtra === false) {
      const hasDefault = typeof schema === 'object' && schema !== null && 'default' in schema;
      if (readerRequired.has(name) && !hasDefault) {
        report(walk, at, 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL');
      }
    } else {
      const sub = { ...walk, problems: [] as string[] };
      compare(sub, schema, writerExtra, at);
      if (sub.problems.length > 0) {
        report(walk, at, 'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL');
      }
    }
  }
  for (const [name, schema] of Object.entries(writerProperties)) {
    if (name in readerProperties) continue;
    const at = `${path}/properties/${name}`;
    if (readerExtra === false) {
      report(walk, at, 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL');
    } else if (readerExtra !== true) {
      const sub = { ...walk, problems: [] as string[] };
      compare(sub, readerExtra, schema, at);
      if (sub.problems.length > 0) {
        report(walk, at, 'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL');
      }
    }
  }
  if (readerExtra === false && writerExtra !== false) {
    report(walk, path, 'ADDITIONAL_PROPERTIES_REMOVED');
  } else if (readerExtra !== true && readerExtra !== false && writerExtra !== false) {
    if (writerExtra === true) report(walk, path, 'ADDITIONAL_PROPERTIES_NARROWED');
    else compare(walk, readerExtra, writerExtra, `${path}/additionalProperties`);
  }
}

function compareArrays(walk: Walk, reader: Obj, writer: Obj, path: string): void {
  const readerItems = reader.items;
  const writerItems = writer.items;
  if (readerItems === undefined || Array.isArray(readerItems)) return;
  if (writerItems === undefined || Array.isArray(writerItems)) {
    if (writerItems === undefined && typesOf(writer)?.has('array') === true) {
      compare(walk, readerItems, true, `${path}/items`);
    }
    return;
  }
  compare(walk, readerItems, writerItems, `${path}/items`);
}
