/**
 * Reads Java properties text, the format of Kafka's server.properties, as
 * java.util.Properties.load does: `#` and `!` comment lines, `key=value`, `key: value` or
 * `key value`, a trailing odd backslash continuing the line (leading blanks of the next line
 * dropped), and escapes (\t \n \r \f \uXXXX, `\` before any other character keeps it, so
 * `a\=b` is a key containing '='). The text is UTF-8 (Java's InputStream form is Latin-1, which
 * no ASCII file can tell apart). Each entry keeps the line it started on, for error messages.
 */

export interface PropertyEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line where the logical line starts. */
  readonly line: number;
}

export class PropertiesSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = 'PropertiesSyntaxError';
    this.line = line;
  }
}

const blank = new Set([' ', '\t', '\f']);

/** Entries in file order; a key set twice appears twice (the last one wins when applied). */
export function parseProperties(text: string): PropertyEntry[] {
  const lines = text.split(/\r\n|\r|\n/);
  const entries: PropertyEntry[] = [];
  for (let index = 0; index < lines.length; index++) {
    const first = stripLeading(lines[index] ?? '');
    if (first === '' || first.startsWith('#') || first.startsWith('!')) continue;
    const start = index + 1;
    let logical = first;
    while (endsWithOddBackslashes(logical) && index + 1 < lines.length) {
      index++;
      logical = logical.slice(0, -1) + stripLeading(lines[index] ?? '');
    }
    if (endsWithOddBackslashes(logical)) logical = logical.slice(0, -1);
    entries.push(splitEntry(logical, start));
  }
  return entries;
}

function stripLeading(line: string): string {
  let at = 0;
  while (at < line.length && blank.has(line[at] ?? '')) at++;
  return line.slice(at);
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let at = line.length - 1; at >= 0 && line[at] === '\\'; at--) count++;
  return count % 2 === 1;
}

/** Splits at the first unescaped separator: '=', ':' or a blank (blanks around it dropped). */
function splitEntry(logical: string, line: number): PropertyEntry {
  let at = 0;
  while (at < logical.length) {
    const char = logical[at] ?? '';
    if (char === '\\') at += 2;
    else if (char === '=' || char === ':' || blank.has(char)) break;
    else at++;
  }
  const rawKey = logical.slice(0, Math.min(at, logical.length));
  let rest = logical.slice(at);
  rest = stripLeading(rest);
  if (rest.startsWith('=') || rest.startsWith(':')) rest = stripLeading(rest.slice(1));
  return { key: unescape(rawKey, line), value: unescape(rest, line), line };
}

const escapes: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(text: string, line: number): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let at = 0; at < text.length; at++) {
    const char = text[at] ?? '';
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = text[++at] ?? '';
    if (next === 'u') {
      const hex = text.slice(at + 1, at + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new PropertiesSyntaxError(line, `malformed \\uxxxx escape '\\u${hex}'`);
      }
      out += String.fromCharCode(Number.parseInt(hex, 16));
      at += 4;
    } else {
      out += escapes[next] ?? next;
    }
  }
  return out;
}
