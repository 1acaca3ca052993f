/**
 * The append statements: each writes the version row and the outbox rows of one change in ONE
 * statement (one round trip), the version assigned by the database so concurrent appends of an
 * entity serialise on its row. They differ only in who keeps the version.
 * @param s the quoted Tidemark schema
 */
export function appendStatements(s: string, channel: string, notify: boolean) {
  const returning = `RETURNING entity_version AS version, position${notify ? `, pg_notify('${channel}', '')` : ''}`;
  const insertOutbox = `INSERT INTO ${s}.outbox (event_id, entity_type, entity_id, entity_version, envelope)
       SELECT e.id, $1, $2, v.version, e.envelope
       FROM v, unnest($3::uuid[], $4::jsonb[]) WITH ORDINALITY AS e(id, envelope, ord)
       ORDER BY e.ord ${returning}`;
  const upsertAnyVersion = `WITH v AS (
         INSERT INTO ${s}.entity_versions AS ev (entity_type, entity_id, version) VALUES ($1, $2, 1)
         ON CONFLICT (entity_type, entity_id) DO UPDATE SET version = ev.version + 1, updated_at = now()
         RETURNING version)
       ${insertOutbox}`;
  const insertNew = `WITH v AS (
         INSERT INTO ${s}.entity_versions (entity_type, entity_id, version) VALUES ($1, $2, 1)
         ON CONFLICT (entity_type, entity_id) DO NOTHING
         RETURNING version)
       ${insertOutbox}`;
  const insertCallerVersioned = `WITH v AS (SELECT $5::bigint AS version)
       ${insertOutbox}`;
  const updateExpected = `WITH v AS (
         UPDATE ${s}.entity_versions SET version = version + 1, updated_at = now()
         WHERE entity_type = $1 AND entity_id = $2 AND version = $5
         RETURNING version)
       ${insertOutbox}`;
  return {
    /** Tidemark keeps the version: the next one, whatever it is. */
    upsertAnyVersion,
    /** expectedVersion 0: only if the entity has no version yet. */
    insertNew,
    /** The caller keeps versions ({ version }): no version row. */
    insertCallerVersioned,
    /** expectedVersion n: only if the entity is at n. */
    updateExpected,
  };
}
