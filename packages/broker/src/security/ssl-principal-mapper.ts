/**
 * `ssl.principal.mapping.rules`, as Kafka's SslPrincipalMapper applies them: a client
 * certificate's subject, as an RFC 2253 distinguished name (`CN=app,OU=eng,O=Acme,C=US`, most
 * specific first, as Java's X500Principal.getName() writes it), is matched against each rule in
 * order; the first rule whose pattern matches the whole DN gives the principal name.
 *
 * Rules: `DEFAULT` (the DN unchanged) and `RULE:pattern/replacement/` with an optional `L` or
 * `U` after the last slash (lower- or upper-case the result). `\/` in a pattern or replacement is
 * a literal slash. Java and JavaScript regular expressions agree on what such rules use
 * (groups, classes, quantifiers; `$1` in the replacement). No rule matching is an error, as in
 * Kafka (the connection is refused).
 */
import { X509Certificate } from 'node:crypto';

type Rule =
  | { readonly kind: 'default' }
  | {
      readonly kind: 'rule';
      readonly pattern: RegExp;
      readonly replacement: string;
      readonly caseChange: '' | 'L' | 'U';
    };

const rulePattern = /^RULE:((?:\\\/|[^/])*)\/((?:\\\/|[^/])*)\/([LU]?)$/;

export class SslPrincipalMapper {
  readonly #rules: readonly Rule[];

  private constructor(rules: readonly Rule[]) {
    this.#rules = rules;
  }

  /** Parses the setting; throws an Error naming the bad rule. */
  static parse(text: string): SslPrincipalMapper {
    const rules: Rule[] = [];
    for (const item of splitRules(text)) {
      if (item === 'DEFAULT') {
        rules.push({ kind: 'default' });
        continue;
      }
      const match = rulePattern.exec(item);
      if (match === null) throw new Error(`ssl.principal.mapping.rules: invalid rule '${item}'`);
      rules.push({
        kind: 'rule',
        pattern: new RegExp(`^(?:${match[1] ?? ''})$`),
        replacement: (match[2] ?? '').replaceAll('\\/', '/'),
        caseChange: (match[3] ?? '') as '' | 'L' | 'U',
      });
    }
    return new SslPrincipalMapper(rules.length === 0 ? [{ kind: 'default' }] : rules);
  }

  /** The principal name for a DN; throws when no rule applies. */
  nameOf(distinguishedName: string): string {
    for (const rule of this.#rules) {
      if (rule.kind === 'default') return distinguishedName;
      if (!rule.pattern.test(distinguishedName)) continue;
      const name = distinguishedName.replace(rule.pattern, rule.replacement);
      if (rule.caseChange === 'L') return name.toLowerCase();
      if (rule.caseChange === 'U') return name.toUpperCase();
      return name;
    }
    throw new Error(`no ssl.principal.mapping.rules rule matches '${distinguishedName}'`);
  }
}

/**
 * Rules are separated by commas, but commas also occur inside patterns (`CN=(.*),OU=...`): a new
 * rule starts only at a comma followed by `RULE:` or `DEFAULT`.
 */
function splitRules(text: string): string[] {
  return text
    .split(/,(?=\s*(?:RULE:|DEFAULT\s*(?:,|$)))/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** RFC 2253 special characters, escaped with a backslash in attribute values. */
const specialCharacters = /([,+"\\<>;])/g;

/**
 * The subject of a DER certificate as RFC 2253 writes it: the certificate's RDNs in reverse
 * order (Node lists them as stored, most general first), `TYPE=value` joined by commas.
 */
export function distinguishedNameOf(certificateDer: Buffer): string {
  const subject = new X509Certificate(certificateDer).subject;
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .toReversed()
    .map((line) => {
      const at = line.indexOf('=');
      return `${line.slice(0, at)}=${line.slice(at + 1).replace(specialCharacters, '\\$1')}`;
    })
    .join(',');
}
