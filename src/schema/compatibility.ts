/**
 * Compatibility modes over version histories. For a new version N of a type and an earlier
 * version E:
 *
 * - BACKWARD: readers of N can read data written with E — `compareSchemas(E, N)` is empty.
 *   New consumers can process old events (including replays of history). Allowed: adding an
 *   optional field, removing a field (unless N refuses unknown fields), widening a type
 *   (integer → number, adding null), adding enum values, relaxing limits.
 * - FORWARD: readers of E can read data written with N — `compareSchemas(N, E)` is empty.
 *   Producers may upgrade before consumers. Allowed: adding a field (unless E refuses unknown
 *   fields), removing an optional field, narrowing a type, removing enum values, tightening limits.
 * - FULL: both. `NONE`: nothing is checked.
 * - Without `_TRANSITIVE`, E is the version just before N; with it, every earlier version.
 */
import { compareSchemas } from './compare.js';
import { describeDifference } from './describe.js';
import { formatPath } from './json.js';
import type { BreakingChange, CompatibilityMode, JsonSchema } from './types.js';

export interface VersionedSchema {
  readonly version: number;
  readonly schema: JsonSchema;
}

export interface ModeRules {
  /** New readers must read old data. */
  readonly backward: boolean;
  /** Old readers must read new data. */
  readonly forward: boolean;
  /** Against every earlier version, not only the previous one. */
  readonly transitive: boolean;
}

export function modeRules(mode: CompatibilityMode): ModeRules {
  return {
    backward: mode.startsWith('BACKWARD') || mode.startsWith('FULL'),
    forward: mode.startsWith('FORWARD') || mode.startsWith('FULL'),
    transitive: mode.endsWith('_TRANSITIVE'),
  };
}

/**
 * The breaking changes for readers of `reader` reading data written with `writer`, as
 * sentences. `direction` is `backward` when the reader is the newer version.
 */
export function breakingChanges(
  type: string,
  writer: VersionedSchema,
  reader: VersionedSchema,
): BreakingChange[] {
  const direction = reader.version > writer.version ? 'backward' : 'forward';
  return compareSchemas(writer.schema, reader.schema).map((d) => ({
    ...d,
    type,
    direction,
    writerVersion: writer.version,
    readerVersion: reader.version,
    field: formatPath(d.path),
    message: describeDifference(d, writer.version, reader.version),
  }));
}

/**
 * What would break if `candidate` became the newest version of `type`, given its `earlier`
 * versions (any order, all older than the candidate), under `mode`. Empty means compatible.
 */
export function checkCompatibility(
  type: string,
  candidate: VersionedSchema,
  earlier: readonly VersionedSchema[],
  mode: CompatibilityMode,
): BreakingChange[] {
  const rules = modeRules(mode);
  if (!rules.backward && !rules.forward) return [];
  const older = [...earlier]
    .filter((e) => e.version < candidate.version)
    .sort((a, b) => b.version - a.version);
  const against = rules.transitive ? older : older.slice(0, 1);
  const changes: BreakingChange[] = [];
  for (const previous of against) {
    if (rules.backward) changes.push(...breakingChanges(type, previous, candidate));
    if (rules.forward) changes.push(...breakingChanges(type, candidate, previous));
  }
  return changes;
}

/**
 * Checks a whole history: every version against the one before it (or, transitive, against all
 * earlier ones). Used by `tidemark schema check` and the contract-test helper.
 */
export function checkHistory(
  type: string,
  versions: readonly VersionedSchema[],
  mode: CompatibilityMode,
): BreakingChange[] {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  return sorted.flatMap((candidate, i) => checkCompatibility(type, candidate, sorted.slice(0, i), mode));
}
