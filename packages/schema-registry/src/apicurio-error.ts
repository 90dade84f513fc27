/**
 * ApicurioError: a client failure on the Apicurio Registry v2 routes (apicurio-routes.ts), sent
 * as Apicurio's error body `{error_code, message, name, detail}` (plus `causes` for a rule
 * violation) with Apicurio's HTTP status. Apicurio's Java client turns `name` back into its
 * exception class (ArtifactNotFoundException, RuleViolationException, ...), so the names are
 * Apicurio's own. RegistryErrors raised by SchemaRegistry are translated in `apicurioErrorOf`.
 */
import { RegistryError } from './registry-error.ts';

export interface RuleViolationCause {
  readonly description: string;
  readonly context: string;
}

export class ApicurioError extends Error {
  readonly status: number;
  /** Apicurio's exception class name, which the Java client maps back to its own class. */
  readonly errorName: string;
  readonly causes: readonly RuleViolationCause[] | undefined;

  constructor(status: number, errorName: string, message: string, causes?: RuleViolationCause[]) {
    super(message);
    this.name = 'ApicurioError';
    this.status = status;
    this.errorName = errorName;
    this.causes = causes;
  }

  /** The JSON body Apicurio sends: Error, or RuleViolationError with its causes. */
  body(): Record<string, unknown> {
    return {
      error_code: this.status,
      message: this.message,
      name: this.errorName,
      detail: `${this.errorName}: ${this.message}`,
      ...(this.causes === undefined ? {} : { causes: this.causes }),
    };
  }
}

export const apicurioErrors = {
  artifactNotFound: (groupId: string, artifactId: string) =>
    new ApicurioError(
      404,
      'ArtifactNotFoundException',
      `No artifact with ID '${artifactId}' in group '${groupId}' was found.`,
    ),
  versionNotFound: (artifactId: string, version: string) =>
    new ApicurioError(
      404,
      'VersionNotFoundException',
      `No version '${version}' found for artifact with ID '${artifactId}' in group 'default'.`,
    ),
  contentNotFound: (what: string) =>
    new ApicurioError(404, 'ContentNotFoundException', `No content with ${what} was found.`),
  ruleNotFound: (rule: string) =>
    new ApicurioError(404, 'RuleNotFoundException', `No rule named '${rule}' was found.`),
  ruleAlreadyExists: (rule: string) =>
    new ApicurioError(409, 'RuleAlreadyExistsException', `A rule named '${rule}' already exists.`),
  artifactAlreadyExists: (artifactId: string) =>
    new ApicurioError(
      409,
      'ArtifactAlreadyExistsException',
      `An artifact with ID '${artifactId}' in group 'default' already exists.`,
    ),
  ruleViolation: (message: string, causes: RuleViolationCause[]) =>
    new ApicurioError(409, 'RuleViolationException', message, causes),
  invalidGroupId: (groupId: string) =>
    new ApicurioError(
      400,
      'InvalidGroupIdException',
      `Group '${groupId}' is not served: this registry keeps Confluent subjects in the ` +
        `'default' group only.`,
    ),
  invalidArtifactType: (type: string) =>
    new ApicurioError(
      400,
      'InvalidArtifactTypeException',
      `Artifact type '${type}' is not served (AVRO, JSON and PROTOBUF are).`,
    ),
  badRequest: (message: string) => new ApicurioError(400, 'BadRequestException', message),
  unprocessable: (message: string) =>
    new ApicurioError(422, 'UnprocessableEntityException', message),
  notFound: (path: string) =>
    new ApicurioError(404, 'NotFoundException', `RESTEASY003210: No resource for ${path}`),
  methodNotAllowed: () =>
    new ApicurioError(405, 'NotAllowedException', 'RESTEASY003650: No resource method found'),
} as const;

/**
 * The Apicurio form of a failure SchemaRegistry raised with Confluent's codes; anything else
 * (a store failure) is returned as it is, for the HTTP edge to answer 500.
 */
export function apicurioErrorOf(error: unknown, groupId: string, artifactId: string): unknown {
  if (!(error instanceof RegistryError)) return error;
  switch (error.errorCode) {
    case 40401:
    case 40404:
      return apicurioErrors.artifactNotFound(groupId, artifactId);
    case 40402:
    case 40406:
      return new ApicurioError(404, 'VersionNotFoundException', error.message);
    case 40403:
      return new ApicurioError(404, 'ContentNotFoundException', error.message);
    case 40901:
      return apicurioErrors.ruleViolation('Incompatible artifact: ' + artifactId + ' [default]', [
        { description: error.message, context: '/' },
      ]);
    case 42201:
    case 42208:
      return apicurioErrors.unprocessable(error.message);
    case 42205:
      return new ApicurioError(409, 'ReadOnlyStorageException', error.message);
    case 42206:
      return new ApicurioError(422, 'ReferenceExistsException', error.message);
    default:
      return new ApicurioError(error.status, 'BadRequestException', error.message);
  }
}
