import { canonicalJson } from '../envelope/canonical.js';
import { TidemarkError } from '../errors.js';
import { recordStages } from '../ledger/record.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { EntityRef } from '../producer/producer.js';

/**
 * Which writer owns a field while the legacy system (via CDC) and the new authority coexist.
 * A field moves from legacy to new at a cut-over instant, e.g.
 * `{ owner: 'legacy', until: new Date('2026-09-01'), then: 'new' }`.
 */
export type Source = 'legacy' | 'new';
export type FieldRule = Source | { readonly owner: Source; readonly until: Date; readonly then: Source };

export interface PrecedenceRules {
  /** Per entity type, per field; `*` is the default for fields not named. */
  readonly [entityType: string]: Readonly<Record<string, FieldRule>>;
}

/** What one field of a proposed write is judged to be. */
export type FieldVerdict =
  /** The source owns the field: the write stands. */
  | { readonly field: string; readonly verdict: 'owned' }
  /** Not the owner, but it writes the owner's current value (e.g. a sync echoing the new system back): harmless, dropped. */
  | { readonly field: string; readonly verdict: 'echo' }
  /** Not the owner and a different value: refused and recorded as a conflict. */
  | {
      readonly field: string;
      readonly verdict: 'conflict';
      readonly owner: Source;
      readonly ownerValue: unknown;
    };

export function ownerOf(rules: PrecedenceRules, entityType: string, field: string, at: Date): Source {
  const perType = rules[entityType];
  const rule = perType?.[field] ?? perType?.['*'];
  if (rule === undefined) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `source precedence has no rule for ${entityType}.${field}; add "${field}" or a "*" default under "${entityType}"`,
      { context: { entityType, field } },
    );
  }
  if (typeof rule === 'string') return rule;
  return at < rule.until ? rule.owner : rule.then;
}

/**
 * The pure decision: per field, does `source` win? Never by wall-clock order of the writes —
 * only the rules decide, so a late-arriving legacy change cannot overwrite the new authority.
 * @param stored the last value each field's writers recorded, by field
 */
export function judgeFields(
  rules: PrecedenceRules,
  entityType: string,
  source: Source,
  fields: Readonly<Record<string, unknown>>,
  stored: ReadonlyMap<string, { source: Source; value: unknown }>,
  at: Date,
): FieldVerdict[] {
  return Object.entries(fields).map(([field, value]): FieldVerdict => {
    const owner = ownerOf(rules, entityType, field, at);
    if (owner === source) return { field, verdict: 'owned' };
    const known = stored.get(field);
    const ownerValue = known?.source === owner ? known.value : undefined;
    if (known?.source === owner && canonicalJson(ownerValue ?? null) === canonicalJson(value ?? null)) {
      return { field, verdict: 'echo' };
    }
    return { field, verdict: 'conflict', owner, ownerValue };
  });
}

export interface PrecedenceDecision {
  /** True when every field is owned or an echo and at least one is owned: emit the event. */
  readonly admitted: boolean;
  readonly verdicts: readonly FieldVerdict[];
}

export interface SourcePrecedence {
  readonly rules: PrecedenceRules;
  /**
   * Judges a write of `fields` by `source` inside `tx`, records the owned values, and records each
   * conflict (an open exception in `cdc_conflicts`, keyed by `changeRef` so a replay adds none).
   * With `ledger` configured, a write refused for a conflict is also a `rejected` ledger stage of
   * context `writer`; with `exceptions`, it opens a reconciliation exception. All in `tx`.
   * @param writer the writing context as the ledger names it (a capture passes its name); default `source`
   */
  decide(
    tx: Sql,
    source: Source,
    entity: EntityRef,
    fields: Readonly<Record<string, unknown>>,
    changeRef: string,
    writer?: string,
  ): Promise<PrecedenceDecision>;
  /** Open conflicts, oldest first, for an operator or a reconciliation exception queue. */
  openConflicts(sql: Sql, limit?: number): Promise<Conflict[]>;
}

export interface Conflict {
  readonly id: number;
  readonly entityType: string;
  readonly entityId: string;
  readonly field: string;
  readonly rejectedSource: Source;
  readonly rejectedValue: unknown;
  readonly winningSource: Source;
  readonly winningValue: unknown;
  readonly changeRef: string;
  readonly detectedAt: Date;
}

export function createSourcePrecedence(options: {
  readonly rules: PrecedenceRules;
  readonly schema?: string;
  /** The clock for cut-overs (tests pin it). */
  readonly now?: () => Date;
  /**
   * Record each refused write in the maturity ledger: stage `rejected` of the writer's context at
   * the entity's current version, `detail` naming the fields, values, owners and the reason.
   * `authority` is the authority context of the entity types (the producer's context).
   */
  readonly ledger?: { readonly authority: string };
  /**
   * Open a reconciliation exception (class `precedence-conflict`) per entity with a refused
   * write, under `flow` — a flow name of its own (e.g. `cdc:policy_admin`), so reconciliation
   * runs of a real flow never overwrite it. Later conflicts add to the open exception's notes.
   */
  readonly exceptions?: { readonly flow: string };
}): SourcePrecedence {
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const now = options.now ?? (() => new Date());
  const rules = options.rules;
  return {
    rules,
    async decide(tx, source, entity, fields, changeRef, writer = source) {
      const names = Object.keys(fields);
      const found = await tx.query<{ field: string; source: Source; value: unknown }>(
        `SELECT field, source, value FROM ${s}.cdc_field_values
         WHERE entity_type = $1 AND entity_id = $2 AND field = ANY ($3::text[]) FOR UPDATE`,
        [entity.type, entity.id, names],
      );
      const stored = new Map(found.rows.map((r) => [r.field, { source: r.source, value: r.value }]));
      const verdicts = judgeFields(rules, entity.type, source, fields, stored, now());
      const owned = verdicts.filter((v) => v.verdict === 'owned').map((v) => v.field);
      if (owned.length > 0) {
        await tx.query(
          `INSERT INTO ${s}.cdc_field_values (entity_type, entity_id, field, source, value)
           SELECT $1, $2, f, $3, v FROM unnest($4::text[], $5::jsonb[]) AS u(f, v)
           ON CONFLICT (entity_type, entity_id, field)
           DO UPDATE SET source = excluded.source, value = excluded.value, written_at = now()`,
          [entity.type, entity.id, source, owned, owned.map((f) => JSON.stringify(fields[f] ?? null))],
        );
      }
      const recorded: Extract<FieldVerdict, { verdict: 'conflict' }>[] = [];
      for (const v of verdicts) {
        if (v.verdict !== 'conflict') continue;
        const inserted = await tx.query(
          `INSERT INTO ${s}.cdc_conflicts (entity_type, entity_id, field, rejected_source, rejected_value,
             winning_source, winning_value, change_ref)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8)
           ON CONFLICT (change_ref, field) DO NOTHING RETURNING id`,
          [
            entity.type,
            entity.id,
            v.field,
            source,
            JSON.stringify(fields[v.field] ?? null),
            v.owner,
            JSON.stringify(v.ownerValue ?? null),
            changeRef,
          ],
        );
        if (inserted.rows.length > 0) recorded.push(v);
      }
      // Only conflicts recorded now: a replayed change leaves ledger and exceptions as they are.
      if (recorded.length > 0 && (options.ledger || options.exceptions)) {
        await recordRefusal(tx, s, options, {
          source,
          writer,
          entity,
          fields,
          changeRef,
          conflicts: recorded,
        });
      }
      const admitted = owned.length > 0 && verdicts.every((v) => v.verdict !== 'conflict');
      return { admitted, verdicts };
    },
    async openConflicts(sql, limit = 100) {
      const { rows } = await sql.query<{
        id: number;
        entity_type: string;
        entity_id: string;
        field: string;
        rejected_source: Source;
        rejected_value: unknown;
        winning_source: Source;
        winning_value: unknown;
        change_ref: string;
        detected_at: Date;
      }>(`SELECT * FROM ${s}.cdc_conflicts WHERE status = 'open' ORDER BY id LIMIT $1`, [limit]);
      return rows.map((r) => ({
        id: Number(r.id),
        entityType: r.entity_type,
        entityId: r.entity_id,
        field: r.field,
        rejectedSource: r.rejected_source,
        rejectedValue: r.rejected_value,
        winningSource: r.winning_source,
        winningValue: r.winning_value,
        changeRef: r.change_ref,
        detectedAt: new Date(r.detected_at),
      }));
    },
  };
}

interface Refusal {
  readonly source: Source;
  readonly writer: string;
  readonly entity: EntityRef;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly changeRef: string;
  readonly conflicts: readonly Extract<FieldVerdict, { verdict: 'conflict' }>[];
}

/** A refused write as a `rejected` ledger stage and, if configured, a reconciliation exception. */
async function recordRefusal(
  tx: Sql,
  s: string,
  options: {
    readonly ledger?: { readonly authority: string };
    readonly exceptions?: { readonly flow: string };
  },
  refusal: Refusal,
): Promise<void> {
  const { entity, conflicts } = refusal;
  const { rows } = await tx.query<{ version: string }>(
    `SELECT version::text AS version FROM ${s}.entity_versions WHERE entity_type = $1 AND entity_id = $2`,
    [entity.type, entity.id],
  );
  const version = Number(rows[0]?.version ?? 0);
  const reason =
    `source precedence: ${refusal.writer} (${refusal.source}) may not write ` +
    conflicts.map((c) => `${c.field} (owned by ${c.owner})`).join(', ');
  if (options.ledger) {
    // One stage per (entity, version, writer): the first refusal at a version is the ledger's
    // entry; every refused field stays in cdc_conflicts.
    await recordStages(tx, s, [
      {
        entityType: entity.type,
        entityId: entity.id,
        version,
        context: refusal.writer,
        stage: 'rejected',
        authority: options.ledger.authority,
        detail: {
          reason,
          changeRef: refusal.changeRef,
          fields: conflicts.map((c) => ({
            field: c.field,
            value: refusal.fields[c.field] ?? null,
            owner: c.owner,
            ownerValue: c.ownerValue ?? null,
          })),
        },
      },
    ]);
  }
  if (options.exceptions) {
    await tx.query(
      `INSERT INTO ${s}.recon_exceptions (flow, entity_type, entity_id, class, authority_version, notes)
       VALUES ($1, $2, $3, 'precedence-conflict', $4, $5)
       ON CONFLICT (flow, entity_id) WHERE status <> 'resolved' DO UPDATE SET
         notes = concat_ws(E'\\n', nullif(${s}.recon_exceptions.notes, ''), EXCLUDED.notes), updated_at = now()`,
      [options.exceptions.flow, entity.type, entity.id, version, `${reason} (${refusal.changeRef})`],
    );
  }
}
