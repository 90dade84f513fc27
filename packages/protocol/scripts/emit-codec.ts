/**
 * Turns merged message schemas into TypeScript source: interfaces for the decoded message
 * (every field present) and for the message to encode (every field optional), and one read and
 * one write function per struct, straight-line, with version checks compiled to comparisons.
 * Output is unformatted; generate.ts runs prettier over it.
 */
import type { FieldSchema, MessageSchema, Primitive, StructSchema } from './message-schema.ts';

const tsPrimitive: Record<Primitive, string> = {
  int8: 'number',
  int16: 'number',
  int32: 'number',
  int64: 'bigint',
  uint16: 'number',
  float64: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
  uuid: 'string',
};

const fixedReaders: Partial<Record<Primitive, string>> = {
  int8: 'Int8',
  int16: 'Int16',
  int32: 'Int32',
  int64: 'Int64',
  uint16: 'UInt16',
  float64: 'Float64',
  bool: 'Bool',
  uuid: 'Uuid',
};

/** What a generated module needs to import. */
export interface Imports {
  readerValues: Set<string>;
  writerValues: Set<string>;
}

/** A boolean expression true exactly for the versions of `set` among `universe`. */
export function versionCondition(set: ReadonlySet<number>, universe: readonly number[]): string {
  const runs: [number, number][] = [];
  let start: number | null = null;
  let last = 0;
  for (const v of universe) {
    if (set.has(v)) {
      start ??= v;
      last = v;
    } else if (start !== null) {
      runs.push([start, last]);
      start = null;
    }
  }
  if (start !== null) runs.push([start, last]);
  if (runs.length === 0) return 'false';
  const min = universe[0];
  const max = universe[universe.length - 1];
  if (runs.length === 1 && runs[0]?.[0] === min && runs[0]?.[1] === max) return 'true';
  const parts = runs.map(([a, b]) => {
    if (a === min) return `version <= ${b}`;
    if (b === max) return `version >= ${a}`;
    if (a === b) return `version === ${a}`;
    return `(version >= ${a} && version <= ${b})`;
  });
  return parts.length === 1 ? (parts[0] ?? 'false') : `(${parts.join(' || ')})`;
}

function pick(condition: string, whenTrue: string, whenFalse: string): string {
  if (condition === 'true' || whenTrue === whenFalse) return whenTrue;
  if (condition === 'false') return whenFalse;
  return `(${condition} ? ${whenTrue} : ${whenFalse})`;
}

function branch(condition: string, whenTrue: string, whenFalse: string): string {
  if (condition === 'true' || whenTrue === whenFalse) return whenTrue;
  if (condition === 'false') return whenFalse;
  return `if (${condition}) { ${whenTrue} } else { ${whenFalse} }`;
}

function guard(condition: string, statement: string): string {
  if (condition === 'true') return statement;
  if (condition === 'false') return '';
  return `if (${condition}) { ${statement} }`;
}

function sorted(set: ReadonlySet<number>): number[] {
  return [...set].toSorted((a, b) => a - b);
}

function restrict(set: ReadonlySet<number>, to: ReadonlySet<number>): Set<number> {
  return new Set([...set].filter((v) => to.has(v)));
}

function without(set: ReadonlySet<number>, minus: ReadonlySet<number>): Set<number> {
  return new Set([...set].filter((v) => !minus.has(v)));
}

function isNullableType(field: FieldSchema): boolean {
  return field.nullable.size > 0;
}

function jsdoc(text: string): string {
  return text === '' ? '' : `/** ${text.replaceAll('*/', '*\\/')} */\n`;
}

export class CodecEmitter {
  readonly schema: MessageSchema;
  readonly imports: Imports;
  /** Structs whose default instance or default check is referenced. */
  readonly needsDefault = new Set<StructSchema>();
  readonly needsIsDefault = new Set<StructSchema>();

  constructor(schema: MessageSchema, imports: Imports) {
    this.schema = schema;
    this.imports = imports;
  }

  elementType(field: FieldSchema, init: boolean): string {
    if (field.struct !== null) return init ? `${field.struct.typeName}Init` : field.struct.typeName;
    return tsPrimitive[field.primitive ?? 'int8'];
  }

  fieldType(field: FieldSchema, init: boolean): string {
    if (init && field.primitive === 'records') {
      this.imports.writerValues.add('type RecordsInit');
      return 'RecordsInit';
    }
    const element = this.elementType(field, init);
    const base =
      field.kind === 'array' ? (init ? `readonly ${element}[]` : `${element}[]`) : element;
    return isNullableType(field) ? `${base} | null` : base;
  }

  emitInterfaces(struct: StructSchema): string {
    const complete = struct.fields.map(
      (f) => `${jsdoc(f.about)}${f.property}: ${this.fieldType(f, false)};`,
    );
    const init = struct.fields.map(
      (f) => `${jsdoc(f.about)}${f.property}?: ${this.fieldType(f, true)} | undefined;`,
    );
    return (
      `export interface ${struct.typeName} {\n${complete.join('\n')}\n}\n\n` +
      `/** ${struct.typeName} to encode: omitted fields take their defaults. */\n` +
      `export interface ${struct.typeName}Init {\n${init.join('\n')}\n}\n`
    );
  }

  /** The literal Kafka uses for a field's default, or null for "no explicit default". */
  explicitDefault(field: FieldSchema): string | null {
    const raw = field.defaultValue;
    if (raw === undefined) return null;
    const text = String(raw);
    if (text === 'null') return isNullableType(field) ? 'null' : null;
    if (field.kind !== 'primitive') return null;
    switch (field.primitive) {
      case 'int64':
        return `${BigInt(text)}n`;
      case 'bool':
        return text === 'true' ? 'true' : 'false';
      case 'string':
      case 'uuid':
        return JSON.stringify(text).replaceAll("'", "\\'");
      case 'bytes':
      case 'records':
        return null;
      default:
        return String(Number(text));
    }
  }

  /** The value a non-null field takes when nothing else is known. */
  zero(field: FieldSchema, forRead: boolean): string {
    if (field.kind === 'array') return '[]';
    if (field.struct !== null) {
      if (!forRead) return '{}';
      this.needsDefault.add(field.struct);
      return `default${field.struct.typeName}()`;
    }
    switch (field.primitive) {
      case 'int64':
        return '0n';
      case 'bool':
        return 'false';
      case 'string':
        return "''";
      case 'uuid':
        this.imports.readerValues.add('zeroUuid');
        return 'zeroUuid';
      case 'bytes':
      case 'records':
        this.imports.readerValues.add('emptyBuffer');
        return 'emptyBuffer';
      default:
        return '0';
    }
  }

  /** The field's default: JSON "default", else null when nullable, else the zero value. */
  defaultValue(field: FieldSchema, forRead: boolean): string {
    const explicit = this.explicitDefault(field);
    if (explicit !== null) return explicit;
    if (isNullableType(field)) return 'null';
    return this.zero(field, forRead);
  }

  compactCondition(field: FieldSchema, present: ReadonlySet<number>): string {
    const compact = restrict(field.compact, present);
    const flexible = restrict(this.schema.flexible, present);
    const condition = versionCondition(compact, sorted(present));
    if (condition === 'true' || condition === 'false') return condition;
    const sameAsMessage = compact.size === flexible.size;
    return sameAsMessage ? 'flexible' : condition;
  }

  readExpression(field: FieldSchema, present: ReadonlySet<number>): string {
    const compact = this.compactCondition(field, present);
    const nullable = versionCondition(restrict(field.nullable, present), sorted(present));
    if (field.kind === 'array') {
      const element =
        field.struct !== null
          ? `read${field.struct.typeName}`
          : field.primitive === 'string'
            ? pick(compact, 'readItem.compactString', 'readItem.string')
            : `readItem.${field.primitive}`;
      if (field.struct === null) this.imports.readerValues.add('readItem');
      const args = `${compact}, version, ${element}`;
      return pick(nullable, `reader.readNullableArray(${args})`, `reader.readArray(${args})`);
    }
    if (field.struct !== null) {
      const read = `read${field.struct.typeName}(reader, version)`;
      return pick(nullable, `(reader.readInt8() < 0 ? null : ${read})`, read);
    }
    const fixed = fixedReaders[field.primitive ?? 'int8'];
    if (fixed !== undefined) return `reader.read${fixed}()`;
    const kind = field.primitive === 'string' ? 'String' : 'Bytes';
    return pick(
      compact,
      pick(nullable, `reader.readCompactNullable${kind}()`, `reader.readCompact${kind}()`),
      pick(nullable, `reader.readNullable${kind}()`, `reader.read${kind}()`),
    );
  }

  flexibleDeclaration(struct: StructSchema): string {
    const condition = versionCondition(this.schema.flexible, sorted(struct.universe));
    return condition === 'true' || condition === 'false' ? '' : `const flexible = ${condition};\n`;
  }

  flexibleCondition(struct: StructSchema): string {
    const condition = versionCondition(this.schema.flexible, sorted(struct.universe));
    return condition === 'true' || condition === 'false' ? condition : 'flexible';
  }

  emitRead(struct: StructSchema): string {
    const universe = sorted(struct.universe);
    const properties = struct.fields.map((field) => {
      const regular = without(field.versions, field.tagged);
      const condition = versionCondition(regular, universe);
      const fallback = this.defaultValue(field, true);
      const value = condition === 'false' ? fallback : this.readExpression(field, regular);
      return `${field.property}: ${pick(condition, value, fallback)},`;
    });
    const tagged = struct.fields
      .filter((f) => f.tagged.size > 0 && f.tag !== null)
      .toSorted((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    const flexible = this.flexibleCondition(struct);
    let tail = '';
    if (tagged.length === 0) {
      tail = guard(flexible, 'reader.skipTaggedFields();');
    } else {
      const cases = tagged.map((field) => {
        const condition = versionCondition(field.tagged, universe);
        const assign = `result.${field.property} = ${this.readExpression(field, field.tagged)};`;
        return `case ${field.tag}: ${guard(condition, assign)} break;`;
      });
      const loop =
        `const tagCount = reader.readTagCount();\n` +
        `for (let i = 0; i < tagCount; i++) {\n` +
        `const tag = reader.readUnsignedVarInt();\nconst end = reader.readTaggedFieldEnd();\n` +
        `switch (tag) {\n${cases.join('\n')}\ndefault: break;\n}\n` +
        `reader.finishTaggedField(end);\n}`;
      tail = guard(flexible, loop);
    }
    const name = struct.typeName;
    const exported = struct === this.schema.root ? 'export ' : '';
    return (
      `${exported}function read${name}(reader: Reader, version: number): ${name} {\n` +
      this.flexibleDeclaration(struct) +
      `const result: ${name} = {\n${properties.join('\n')}\n};\n${tail}\nreturn result;\n}\n`
    );
  }

  /** Value of `message.<field>` for writing, with defaults applied. */
  writeValue(field: FieldSchema, nonNull: boolean): string {
    const access = `message.${field.property}`;
    const fallback = this.defaultValue(field, false);
    if (nonNull && fallback === 'null') return `${access} ?? ${this.zero(field, false)}`;
    if (!isNullableType(field) || fallback === 'null' || nonNull) return `${access} ?? ${fallback}`;
    return `(${access} === undefined ? ${fallback} : ${access})`;
  }

  writeStatement(field: FieldSchema, present: ReadonlySet<number>, target: string): string {
    const compact = this.compactCondition(field, present);
    const nullable = versionCondition(restrict(field.nullable, present), sorted(present));
    if (field.primitive === 'records') {
      const value = this.writeValue(field, false);
      return `${target}.writeRecords(${value}, ${compact}, ${nullable});`;
    }
    if (field.kind === 'array') {
      const element =
        field.struct !== null
          ? `write${field.struct.typeName}`
          : field.primitive === 'string'
            ? pick(compact, 'writeItem.compactString', 'writeItem.string')
            : `writeItem.${field.primitive}`;
      if (field.struct === null) this.imports.writerValues.add('writeItem');
      const nullableCall = `${target}.writeNullableArray(${compact}, version, ${this.writeValue(field, false)}, ${element});`;
      const call = `${target}.writeArray(${compact}, version, ${this.writeValue(field, true)}, ${element});`;
      return branch(nullable, nullableCall, call);
    }
    if (field.struct !== null) {
      const write = `write${field.struct.typeName}`;
      const nullableWrite =
        `{ const value = ${this.writeValue(field, false)};\n` +
        `if (value === null) { ${target}.writeInt8(-1); } else { ${target}.writeInt8(1); ${write}(${target}, version, value); } }`;
      const plain = `${write}(${target}, version, ${this.writeValue(field, true)});`;
      return branch(nullable, nullableWrite, plain);
    }
    const fixed = fixedReaders[field.primitive ?? 'int8'];
    if (fixed !== undefined) return `${target}.write${fixed}(${this.writeValue(field, true)});`;
    const kind = field.primitive === 'string' ? 'String' : 'Bytes';
    const orNull = this.writeValue(field, false);
    const plain = this.writeValue(field, true);
    return branch(
      compact,
      branch(
        nullable,
        `${target}.writeCompactNullable${kind}(${orNull});`,
        `${target}.writeCompact${kind}(${plain});`,
      ),
      branch(
        nullable,
        `${target}.writeNullable${kind}(${orNull});`,
        `${target}.write${kind}(${plain});`,
      ),
    );
  }

  /** True when `message.<field>` equals the field's default (tagged fields are then omitted). */
  isDefault(field: FieldSchema): string {
    const access = `message.${field.property}`;
    const fallback = this.defaultValue(field, false);
    const missing = `${access} === undefined`;
    if (
      field.kind === 'primitive' &&
      field.primitive !== 'bytes' &&
      field.primitive !== 'records'
    ) {
      return `(${missing} || ${access} === ${fallback})`;
    }
    if (field.kind === 'primitive' || (field.kind === 'array' && fallback !== 'null')) {
      const notNull = isNullableType(field) ? `${access} !== null && ` : '';
      return `(${missing} || (${notNull}${access}.length === 0))`;
    }
    if (fallback === 'null' || field.struct === null) return `(${missing} || ${access} === null)`;
    this.needsIsDefault.add(field.struct);
    const notNull = isNullableType(field) ? `${access} !== null && ` : '';
    return `(${missing} || (${notNull}isDefault${field.struct.typeName}(${access})))`;
  }

  emitWrite(struct: StructSchema): string {
    const universe = sorted(struct.universe);
    const statements = struct.fields.map((field) => {
      const regular = without(field.versions, field.tagged);
      const condition = versionCondition(regular, universe);
      return condition === 'false'
        ? ''
        : guard(condition, this.writeStatement(field, regular, 'writer'));
    });
    statements.push(guard(this.flexibleCondition(struct), this.emitTaggedWrites(struct)));
    const name = struct.typeName;
    const exported = struct === this.schema.root ? 'export ' : '';
    const params = `writer: Writer, version: number, message: ${name}Init`;
    return (
      `${exported}function write${name}(${params}): void {\n` +
      this.flexibleDeclaration(struct) +
      `${statements.filter((s) => s !== '').join('\n')}\n}\n`
    );
  }

  emitTaggedWrites(struct: StructSchema): string {
    const universe = sorted(struct.universe);
    const tagged = struct.fields
      .filter((f) => f.tagged.size > 0 && f.tag !== null)
      .toSorted((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    if (tagged.length === 0) return 'writer.writeUnsignedVarInt(0);';
    this.imports.writerValues.add('Writer');
    const flags = tagged.map((field) => {
      const condition = versionCondition(field.tagged, universe);
      const present = condition === 'true' ? '' : `${condition} && `;
      return `const tag${field.tag} = ${present}!${this.isDefault(field)};`;
    });
    const count = tagged.map((f) => `(tag${f.tag} ? 1 : 0)`).join(' + ');
    const writes = tagged.map(
      (field) =>
        `if (tag${field.tag}) { const tagged = new Writer(64);\n` +
        `${this.writeStatement(field, field.tagged, 'tagged')}\n` +
        `writer.writeTaggedField(${field.tag}, tagged); }`,
    );
    return `${flags.join('\n')}\nwriter.writeUnsignedVarInt(${count});\n${writes.join('\n')}`;
  }

  /** Default and isDefault helpers, emitting until no helper needs another. */
  emitHelpers(): string[] {
    const helpers: string[] = [];
    const done = new Set<string>();
    let progress = true;
    while (progress) {
      progress = false;
      for (const struct of this.schema.structs) {
        if (this.needsDefault.has(struct) && !done.has(`d${struct.typeName}`)) {
          done.add(`d${struct.typeName}`);
          helpers.push(this.emitDefault(struct));
          progress = true;
        }
        if (this.needsIsDefault.has(struct) && !done.has(`i${struct.typeName}`)) {
          done.add(`i${struct.typeName}`);
          helpers.push(this.emitIsDefault(struct));
          progress = true;
        }
      }
    }
    return helpers;
  }

  emitDefault(struct: StructSchema): string {
    const properties = struct.fields.map((f) => `${f.property}: ${this.defaultValue(f, true)},`);
    return (
      `function default${struct.typeName}(): ${struct.typeName} {\n` +
      `return {\n${properties.join('\n')}\n};\n}\n`
    );
  }

  emitIsDefault(struct: StructSchema): string {
    const checks = struct.fields.map((f) => this.isDefault(f));
    const body = checks.length === 0 ? 'true' : checks.join(' &&\n');
    return (
      `function isDefault${struct.typeName}(message: ${struct.typeName}Init): boolean {\n` +
      `return ${body};\n}\n`
    );
  }

  /** Interfaces, codecs and helpers for every struct of the message. */
  emit(): string {
    const parts: string[] = [];
    for (const struct of this.schema.structs) parts.push(this.emitInterfaces(struct));
    for (const struct of this.schema.structs) parts.push(this.emitRead(struct));
    for (const struct of this.schema.structs) parts.push(this.emitWrite(struct));
    parts.push(...this.emitHelpers());
    return parts.join('\n');
  }
}
