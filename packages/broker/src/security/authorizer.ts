/**
 * The ACL authorizer: decides whether a principal connected from a host may perform an operation
 * on a resource, with the semantics of Kafka's StandardAuthorizer (StandardAuthorizerData):
 *
 * - it is on when `authorizer.class.name` is set (any class name: Kafka's StandardAuthorizer or
 *   AclAuthorizer are the usual ones); off, everything is allowed, as in Kafka without one;
 * - a principal in `super.users` (`User:a;User:b`) may do anything;
 * - the ACLs that apply to a resource are its LITERAL ones, the LITERAL `*` ones and the PREFIXED
 *   ones whose name starts the resource's name, for the principal or `User:*`, for the host or
 *   `*`;
 * - a matching DENY for the operation (or ALL) wins over any ALLOW;
 * - an ALLOW for the operation, ALL, or an operation that implies it (READ, WRITE, DELETE and
 *   ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows; implication never
 *   applies to DENY;
 * - a resource with no ACL at all (for anyone) is allowed only with
 *   `allow.everyone.if.no.acl.found=true`; otherwise it is denied.
 *
 * ACLs are held in memory, loaded at start and reloaded after every CreateAcls/DeleteAcls on this
 * broker; in cluster mode also every `aclRefreshIntervalMs`, since another broker may change them
 * in the shared metadata store. Decisions are synchronous over the cache.
 */
import type { AclBinding, SecurityMetadata } from '@tributary/storage';
import type { LogFields, Logger } from '../logger.ts';
import { AclOperation, AclPermissionType, PatternType, wildcardResourceName } from './acl-codes.ts';

/** Cluster mode: how often ACLs changed by other brokers are picked up. */
export const aclRefreshIntervalMs = 2_000;

/** Denial log lines allowed per interval; the lines dropped are counted in the next one. */
export const denialLogMaxLines = 20;
export const denialLogIntervalMs = 10_000;

/** The principal every ACL with this principal applies to. */
const wildcardPrincipal = 'User:*';

/** Who asks: the connection's principal and the client's IP address. */
export interface AuthorizationSubject {
  readonly principal: string;
  readonly host: string;
}

/** Where the authorizer reads its settings (BrokerSettings.value). */
export interface AuthorizerSettingSource {
  value(name: string): string | null;
}

export interface AuthorizerOptions {
  readonly storage: Pick<SecurityMetadata, 'listAcls'>;
  readonly settings: AuthorizerSettingSource;
  readonly log: Logger;
  /** Reload ACLs from the store periodically (cluster mode). */
  readonly refreshPeriodically: boolean;
}

/** A resource type's ACLs, indexed the way decisions look them up. */
interface ResourceTypeAcls {
  readonly literal: Map<string, AclBinding[]>;
  readonly prefixed: AclBinding[];
}

const impliesDescribe: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);
const impliesDescribeConfigs: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]);

export class Authorizer {
  /** True when `authorizer.class.name` is set: every request is checked. */
  readonly enabled: boolean;
  readonly #superUsers: ReadonlySet<string>;
  readonly #allowIfNoAcl: boolean;
  readonly #storage: Pick<SecurityMetadata, 'listAcls'>;
  readonly #log: Logger;
  #acls = new Map<number, ResourceTypeAcls>();
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;
  readonly #denials = { windowStartMs: 0, lines: 0, dropped: 0 };

  private constructor(options: AuthorizerOptions) {
    const { settings } = options;
    this.enabled = (settings.value('authorizer.class.name') ?? '').trim() !== '';
    this.#superUsers = new Set(
      (settings.value('super.users') ?? '')
        .split(';')
        .map((user) => user.trim())
        .filter((user) => user !== ''),
    );
    this.#allowIfNoAcl = settings.value('allow.everyone.if.no.acl.found') === 'true';
    this.#storage = options.storage;
    this.#log = options.log;
  }

  /** Loads the ACLs (when enabled) and starts the periodic reload in cluster mode. */
  static async start(options: AuthorizerOptions): Promise<Authorizer> {
    const authorizer = new Authorizer(options);
    if (!authorizer.enabled) return authorizer;
    await authorizer.refresh();
    if (options.refreshPeriodically) {
      authorizer.#timer = setInterval(() => {
        authorizer.refresh().catch((error: unknown) => {
          authorizer.#log.warn('could not reload ACLs', { error: String(error) });
        });
      }, aclRefreshIntervalMs);
      authorizer.#timer.unref();
    }
    return authorizer;
  }

  /** Reloads every ACL from the store; concurrent calls share one load. */
  refresh(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.#loading ??= (async () => {
      try {
        this.#acls = indexAcls(await this.#storage.listAcls());
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Logs a denial (who, what, from where), at most `denialLogMaxLines` per interval. */
  logDenial(fields: LogFields): void {
    const denials = this.#denials;
    const now = Date.now();
    if (now - denials.windowStartMs >= denialLogIntervalMs) {
      denials.windowStartMs = now;
      denials.lines = 0;
    }
    if (denials.lines >= denialLogMaxLines) {
      denials.dropped++;
      return;
    }
    denials.lines++;
    const dropped = denials.dropped;
    denials.dropped = 0;
    this.#log.info('authorization denied', {
      ...fields,
      ...(dropped > 0 ? { deniedUnlogged: dropped } : {}),
    });
  }

  isSuperUser(principal: string): boolean {
    return this.#superUsers.has(principal);
  }

  /** Kafka's Authorizer.authorize for one action on a LITERAL resource. */
  authorize(
    subject: AuthorizationSubject,
    operation: number,
    resource: { readonly type: number; readonly name: string },
  ): boolean {
    if (!this.enabled || this.isSuperUser(subject.principal)) return true;
    const acls = this.#acls.get(resource.type);
    let found = false;
    let allowed = false;
    for (const acl of applicableAcls(acls, resource.name)) {
      found = true;
      const result = aclResult(subject, operation, acl);
      if (result === 'deny') return false;
      if (result === 'allow') allowed = true;
    }
    return allowed || (!found && this.#allowIfNoAcl);
  }

  /**
   * Kafka's Authorizer.authorizeByResourceType: may the subject perform the operation on at least
   * one resource of this type (an ALLOW not shadowed by a DENY on the same name or a prefix of
   * it)? The idempotent producer needs WRITE on some topic this way.
   */
  authorizeByResourceType(subject: AuthorizationSubject, operation: number, type: number): boolean {
    // Kafka first asks about a made-up name, so super users and `*` allows pass at once.
    if (this.authorize(subject, operation, { type, name: 'hardcode' })) return true;
    const acls = this.#acls.get(type);
    if (acls === undefined) return false;
    const all = [...[...acls.literal.values()].flat(), ...acls.prefixed].filter(
      (acl) =>
        (acl.host === wildcardResourceName || acl.host === subject.host) &&
        (acl.principal === subject.principal || acl.principal === wildcardPrincipal) &&
        (acl.operation === operation || acl.operation === AclOperation.ALL),
    );
    if (all.some((acl) => denied(acl) && literal(acl) && acl.resourceName === '*')) return false;
    const deniedLiterals = new Set(all.filter((a) => denied(a) && literal(a)).map(nameOf));
    const deniedPrefixes = all.filter((a) => denied(a) && !literal(a)).map(nameOf);
    const allows = all.filter((acl) => acl.permissionType === AclPermissionType.ALLOW);
    if (allows.some((acl) => literal(acl) && acl.resourceName === '*')) return true;
    return allows.some(
      (acl) =>
        !(literal(acl) && deniedLiterals.has(acl.resourceName)) &&
        !deniedPrefixes.some((prefix) => acl.resourceName.startsWith(prefix)),
    );
  }
}

function denied(acl: AclBinding): boolean {
  return acl.permissionType === AclPermissionType.DENY;
}

function literal(acl: AclBinding): boolean {
  return acl.patternType === PatternType.LITERAL;
}

function nameOf(acl: AclBinding): string {
  return acl.resourceName;
}

function indexAcls(bindings: readonly AclBinding[]): Map<number, ResourceTypeAcls> {
  const index = new Map<number, ResourceTypeAcls>();
  for (const binding of bindings) {
    let acls = index.get(binding.resourceType);
    if (acls === undefined) {
      acls = { literal: new Map(), prefixed: [] };
      index.set(binding.resourceType, acls);
    }
    if (binding.patternType === PatternType.PREFIXED) {
      acls.prefixed.push(binding);
    } else if (binding.patternType === PatternType.LITERAL) {
      const named = acls.literal.get(binding.resourceName);
      if (named === undefined) acls.literal.set(binding.resourceName, [binding]);
      else named.push(binding);
    }
  }
  return index;
}

/** Every ACL whose pattern matches the resource name, whoever it is for. */
function* applicableAcls(acls: ResourceTypeAcls | undefined, name: string): Generator<AclBinding> {
  if (acls === undefined) return;
  yield* acls.literal.get(name) ?? [];
  if (name !== wildcardResourceName) yield* acls.literal.get(wildcardResourceName) ?? [];
  for (const acl of acls.prefixed) if (name.startsWith(acl.resourceName)) yield acl;
}

/** Kafka's StandardAuthorizerData.findResult: what this ACL says, or undefined if nothing. */
function aclResult(
  subject: AuthorizationSubject,
  operation: number,
  acl: AclBinding,
): 'allow' | 'deny' | undefined {
  if (acl.principal !== subject.principal && acl.principal !== wildcardPrincipal) return undefined;
  if (acl.host !== wildcardResourceName && acl.host !== subject.host) return undefined;
  const allow = acl.permissionType === AclPermissionType.ALLOW;
  if (acl.operation !== AclOperation.ALL) {
    // Implication applies to ALLOW only: a DENY for READ does not deny DESCRIBE.
    if (allow ? !implies(acl.operation, operation) : acl.operation !== operation) return undefined;
  }
  if (allow) return 'allow';
  return acl.permissionType === AclPermissionType.DENY ? 'deny' : undefined;
}

/** Whether an ALLOW for `granted` allows `requested` (Kafka's implied operations). */
function implies(granted: number, requested: number): boolean {
  if (requested === AclOperation.DESCRIBE) return impliesDescribe.has(granted);
  if (requested === AclOperation.DESCRIBE_CONFIGS) return impliesDescribeConfigs.has(granted);
  return granted === requested;
}
