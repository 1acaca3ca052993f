/**
 * Checks of per-flow field allow-lists (`fields`, `pii`). The structural ones need only the
 * file; the others compare the lists with the registered event schemas of the flow's entity
 * type, so they run only when the loader is given schemas (`parseTopology(text, file, { schemas })`).
 */
import { schemaFieldPaths } from '../schema/fields.js';
import { piiPaths } from '../schema/pii.js';
import type { SchemaLookup } from '../schema/schema-set.js';
import type { Path, TopologyIssue } from './issues.js';
import { didYouMean, listOf } from './suggest.js';

type Item = Readonly<Record<string, unknown>>;

const strings = (value: unknown): (string | undefined)[] =>
  Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : undefined)) : [];

const flowLabel = (name: string | undefined, at: Path) =>
  name === undefined ? `flows[${String(at[1])}]` : `flow '${name}'`;

/** Duplicates in `fields`, and `pii` opt-ins that are not among `fields`. */
export function allowListIssues(at: Path, name: string | undefined, flow: Item): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const fields = strings(flow.fields);
  const seen = new Map<string, number>();
  for (const [i, field] of fields.entries()) {
    if (field === undefined) continue;
    const earlier = seen.get(field);
    if (earlier === undefined) seen.set(field, i);
    else
      issues.push({
        path: [...at, 'fields', i],
        message: `'${field}' is already listed at fields[${earlier}]: remove one`,
      });
  }
  for (const [i, field] of strings(flow.pii).entries()) {
    if (field === undefined || seen.has(field)) continue;
    issues.push({
      path: [...at, 'pii', i],
      message:
        `${flowLabel(name, at)} opts in to PII field '${field}', which is not in its fields ` +
        `(${listOf([...seen.keys()])}): add '${field}' to fields, or remove it from pii${didYouMean(field, [...seen.keys()])}`,
    });
  }
  return issues;
}

/** The registered event types of an entity type: `<entityType>.<Name>` by convention. */
function eventTypesOf(schemas: SchemaLookup, entityType: string): string[] {
  return schemas.types().filter((type) => type.startsWith(`${entityType}.`));
}

/**
 * Each allow-listed field must be declared by some registered schema (any version) of the
 * flow's entity type, and each field those schemas tag `x-pii` needs the flow's explicit
 * opt-in (`pii`). Tolerant of documents that failed the shape checks.
 */
export function fieldSchemaIssues(document: unknown, schemas: SchemaLookup): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const flows = (document as { flows?: unknown } | null)?.flows;
  if (!Array.isArray(flows)) return issues;
  for (const [index, raw] of flows.entries()) {
    if (typeof raw !== 'object' || raw === null) continue;
    const flow = raw as Item;
    const entityType = typeof flow.entityType === 'string' ? flow.entityType : undefined;
    const at: Path = ['flows', index];
    const name = typeof flow.name === 'string' ? flow.name : undefined;
    const fields = strings(flow.fields);
    if (entityType === undefined || fields.length === 0) continue;
    const types = eventTypesOf(schemas, entityType);
    if (types.length === 0) {
      issues.push({
        path: [...at, 'fields'],
        message:
          `${flowLabel(name, at)} lists fields of '${entityType}', but no event schema of '${entityType}' is registered, ` +
          `so the list cannot be checked: register schemas/${entityType}.<Event>/1.json (e.g. ${entityType}.state), or remove fields`,
      });
      continue;
    }
    const versions = types.flatMap((type) =>
      schemas.versions(type).map((version) => schemas.get(type, version)!),
    );
    const declared = [...new Set(versions.flatMap((s) => schemaFieldPaths(s.schema)))].sort();
    const pii = versions.flatMap((s) =>
      piiPaths(s.schema).map((path) => ({ path, where: `${s.type} v${s.version}` })),
    );
    const optedIn = new Set(strings(flow.pii));
    const described = types.map((t) => `${t} v${schemas.versions(t).join(', v')}`).join('; ');
    for (const [i, field] of fields.entries()) {
      if (field === undefined) continue;
      if (!declared.includes(field)) {
        issues.push({
          path: [...at, 'fields', i],
          message:
            `${flowLabel(name, at)} allows field '${field}', which no registered schema of '${entityType}' declares ` +
            `(${described})${didYouMean(field, declared) || `; declared fields: ${listOf(declared)}`}`,
        });
        continue;
      }
      const tagged = pii.find((p) => field === p.path || field.startsWith(`${p.path}.`));
      if (!tagged && optedIn.has(field)) {
        const position = strings(flow.pii).indexOf(field);
        issues.push({
          path: [...at, 'pii', position],
          message:
            `${flowLabel(name, at)} opts in to '${field}' as PII, but no registered schema of '${entityType}' tags it x-pii: ` +
            'remove it from pii (an opt-in records a decision about personal data; keep the list to such fields)',
        });
      }
      if (tagged && !optedIn.has(field)) {
        issues.push({
          path: [...at, 'fields', i],
          message:
            `${flowLabel(name, at)} allows '${field}', which ${tagged.where} tags as PII (x-pii on '${tagged.path}'), ` +
            `without an explicit opt-in: add pii: [${field}] to the flow if '${String(flow.consumer)}' may hold it, or remove it from fields`,
        });
      }
    }
  }
  return issues;
}
