/**
 * Where Apache Kafka's JSON message definitions live in this repository: `packages/protocol/spec/`
 * (the 4.x files), with `legacy-3.9.0/` for the versions Kafka 4.0 removed. `spec/VERSION` names
 * the Kafka build they come from; `refresh-spec.ts` replaces them from a given Kafka release.
 */
import { join, resolve } from 'node:path';

export const specDirectory = resolve(import.meta.dirname, '../spec');
export const legacySpecDirectory = join(specDirectory, 'legacy-3.9.0');
