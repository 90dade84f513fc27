/**
 * RegistryError: a failure a registry client caused, carried to the HTTP edge with Confluent's
 * status and `error_code` (Confluent's Errors.java numbering), so every client that reads
 * `{error_code, message}` bodies sees what Confluent Schema Registry would send. Failures of the
 * store itself are not RegistryErrors: the HTTP edge answers them 500 / 50001.
 */

export class RegistryError extends Error {
  readonly status: number;
  readonly errorCode: number;

  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.name = 'RegistryError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

export const registryErrors = {
  subjectNotFound: (subject: string) =>
    new RegistryError(404, 40401, `Subject '${subject}' not found.`),
  versionNotFound: (version: number | string) =>
    new RegistryError(404, 40402, `Version ${version} not found.`),
  schemaNotFound: (id?: number) =>
    new RegistryError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`),
  subjectSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40404,
      `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
    ),
  subjectNotSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40405,
      `Subject '${subject}' was not deleted first before being permanently deleted`,
    ),
  versionSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40406,
      `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete ` +
        'permanently',
    ),
  versionNotSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40407,
      `Subject '${subject}' Version ${version} was not deleted first before being permanently ` +
        'deleted',
    ),
  compatibilityNotConfigured: (subject: string) =>
    new RegistryError(
      404,
      40408,
      `Subject '${subject}' does not have subject-level compatibility configured`,
    ),
  modeNotConfigured: (subject: string) =>
    new RegistryError(
      404,
      40409,
      `Subject '${subject}' does not have subject-level mode configured`,
    ),
  incompatible: (subject: string, messages: readonly string[]) =>
    new RegistryError(
      409,
      40901,
      'Schema being registered is incompatible with an earlier schema for subject ' +
        `"${subject}", details: [${messages.join(', ')}]`,
    ),
  invalidSchema: (reason: string) => new RegistryError(422, 42201, `Invalid schema ${reason}`),
  invalidVersion: (version: string) =>
    new RegistryError(
      422,
      42202,
      `The specified version '${version}' is not a valid version id. Allowed values are between ` +
        '[1, 2^31-1] and the string "latest"',
    ),
  invalidCompatibility: (level: unknown) =>
    new RegistryError(
      422,
      42203,
      `Invalid compatibility level. Valid values are none, backward, forward, full, ` +
        `backward_transitive, forward_transitive, and full_transitive (got ${String(level)})`,
    ),
  invalidMode: (mode: unknown) =>
    new RegistryError(
      422,
      42204,
      `Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT ` +
        `(got ${String(mode)})`,
    ),
  operationNotPermitted: (message: string) => new RegistryError(422, 42205, message),
  referenceExists: (message: string) => new RegistryError(422, 42206, message),
  invalidSubject: (subject: string) =>
    new RegistryError(422, 42208, `Invalid subject ${JSON.stringify(subject)}`),
  badRequest: (message: string) => new RegistryError(400, 400, message),
  notFound: (path: string) => new RegistryError(404, 404, `HTTP 404 Not Found: ${path}`),
  methodNotAllowed: () => new RegistryError(405, 405, 'HTTP 405 Method Not Allowed'),
} as const;
