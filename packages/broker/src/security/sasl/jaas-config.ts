/**
 * The part of a JAAS configuration Kafka's brokers read from `sasl.jaas.config`:
 * `<LoginModule class> <flag> key="value" key2=value2 ...;`. PlainLoginModule's server side
 * takes its users from the `user_NAME="password"` options (PlainServerCallbackHandler).
 */

export interface JaasEntry {
  readonly loginModule: string;
  readonly options: ReadonlyMap<string, string>;
}

const headPattern = /^\s*([A-Za-z0-9_.$]+)\s+(required|requisite|sufficient|optional)\b/;
const optionPattern = /\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)/y;

/** Parses one JAAS entry; throws an Error saying what is wrong (never echoing a value). */
export function parseJaasConfig(text: string): JaasEntry {
  const head = headPattern.exec(text);
  if (head === null) {
    throw new Error('sasl.jaas.config: expected "<LoginModule> required key=\\"value\\" ...;"');
  }
  const options = new Map<string, string>();
  optionPattern.lastIndex = head[0].length;
  let rest = head[0].length;
  for (let match = optionPattern.exec(text); match !== null; match = optionPattern.exec(text)) {
    const raw = match[2] ?? '';
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    options.set(match[1] ?? '', value);
    rest = optionPattern.lastIndex;
  }
  if (!/^\s*;?\s*$/.test(text.slice(rest))) {
    throw new Error(`sasl.jaas.config: cannot read the options after position ${rest}`);
  }
  return { loginModule: head[1] ?? '', options };
}

/** PlainLoginModule's users: user_NAME="password" options, by NAME. */
export function plainUsersOf(entry: JaasEntry): Map<string, string> {
  const users = new Map<string, string>();
  for (const [key, value] of entry.options) {
    if (key.startsWith('user_') && key.length > 5) users.set(key.slice(5), value);
  }
  return users;
}
