/** Statements over a replica schema's runs, findings and exceptions. */
export function runStatements(s: string) {
  return {
    // A run that stopped sending heartbeats died; it no longer blocks its flow.
    expire: `UPDATE ${s}.recon_runs SET status = 'failed',
        report = coalesce(report, '{}'::jsonb) || '{"interrupted": true}'::jsonb
      WHERE flow = $1 AND status = 'running' AND heartbeat_at < now() - $2 * interval '1 millisecond'`,
    start: `INSERT INTO ${s}.recon_runs (flow, status, dry_run) VALUES ($1, 'running', $2) RETURNING id`,
    // The oldest interrupted run with repairs still pending, claimed by run $2.
    claimInterrupted: `UPDATE ${s}.recon_runs r SET report = coalesce(r.report, '{}'::jsonb) || jsonb_build_object('resumedBy', $2::bigint)
      WHERE r.id = (
        SELECT c.id FROM ${s}.recon_runs c
        WHERE c.flow = $1 AND c.status = 'failed' AND NOT coalesce(c.report ? 'resumedBy', false)
          AND EXISTS (SELECT 1 FROM ${s}.recon_findings f WHERE f.run_id = c.id AND f.outcome IS NULL)
        ORDER BY c.id LIMIT 1)
      RETURNING r.id`,
    pending: `SELECT entity_id, class, authority_version::text, replica_version::text
      FROM ${s}.recon_findings WHERE run_id = $1 AND outcome IS NULL ORDER BY entity_id`,
    heartbeat: `UPDATE ${s}.recon_runs SET heartbeat_at = now() WHERE id = $1`,
    addFindings: `INSERT INTO ${s}.recon_findings (run_id, entity_id, class, authority_version, replica_version, outcome)
      SELECT $1, e, c, a, r, $6 FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(e, c, a, r)`,
    settleFinding: `UPDATE ${s}.recon_findings SET outcome = $3, detail = $4::jsonb WHERE run_id = $1 AND entity_id = $2`,
    finish: `UPDATE ${s}.recon_runs SET status = $2, finished_at = now(), report = $3::jsonb WHERE id = $1`,
    openException: `INSERT INTO ${s}.recon_exceptions
        (flow, entity_type, entity_id, class, authority_version, replica_version, notes, run_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      ON CONFLICT (flow, entity_id) WHERE status <> 'resolved' DO UPDATE SET
        class = EXCLUDED.class, authority_version = EXCLUDED.authority_version,
        replica_version = EXCLUDED.replica_version, run_id = EXCLUDED.run_id, updated_at = now()`,
  };
}
