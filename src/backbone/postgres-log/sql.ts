/**
 * The statements of the embedded log. Kept together because their safety depends on
 * each other: offsets are taken from one sequence while an advisory lock is held until
 * commit, so offsets become visible in increasing order and a reader that remembers
 * "the last offset I saw" per partition can never skip a row.
 */
export function logStatements(s: string, schema: string) {
  return {
    lockKey: `tidemark.log.${schema}`,
    lock: `SELECT pg_advisory_xact_lock(hashtext($1))`,
    append: `INSERT INTO ${s}.log (partition, log_offset, event_id, partition_key, envelope)
      SELECT t.partition, nextval('${s}.log_offset_seq'), t.event_id, t.partition_key, t.envelope
      FROM (SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[], $4::jsonb[])
              WITH ORDINALITY AS u(partition, event_id, partition_key, envelope, ord)
            ORDER BY ord) AS t
      ON CONFLICT (event_id) DO NOTHING`,
    appendFromOutbox: (
      outbox: string,
    ) => `INSERT INTO ${s}.log (partition, log_offset, event_id, partition_key, envelope)
      SELECT t.partition, nextval('${s}.log_offset_seq'), o.event_id, t.partition_key,
        o.envelope || jsonb_build_object('entityversion', o.entity_version)
      FROM (SELECT * FROM unnest($1::xid8[], $2::bigint[], $3::int[], $4::text[])
              WITH ORDINALITY AS u(txid, position, partition, partition_key, ord)
            ORDER BY ord) AS t
      JOIN ${outbox} o ON o.txid = t.txid AND o.position = t.position
      ORDER BY t.ord
      ON CONFLICT (event_id) DO NOTHING`,
    notify: `SELECT pg_notify($1, $2)`,
    readPartition: `SELECT log_offset, envelope FROM ${s}.log
      WHERE partition = $1 AND log_offset > $2 ORDER BY log_offset LIMIT $3`,
    ensureMeta: `INSERT INTO ${s}.log_meta (partitions) VALUES ($1) ON CONFLICT (id) DO NOTHING`,
    readMeta: `SELECT partitions FROM ${s}.log_meta`,
    heartbeat: `INSERT INTO ${s}.log_members (consumer_group, member) VALUES ($1, $2)
      ON CONFLICT (consumer_group, member) DO UPDATE SET heartbeat_at = now()`,
    liveMembers: `SELECT member FROM ${s}.log_members
      WHERE consumer_group = $1 AND heartbeat_at > now() - make_interval(secs => $2::float8 / 1000)
      ORDER BY member`,
    leave: `DELETE FROM ${s}.log_members WHERE consumer_group = $1 AND member = $2`,
    ensureCheckpoints: `INSERT INTO ${s}.log_checkpoints (consumer_group, partition)
      SELECT $1, p FROM generate_series(0, $2::int - 1) AS p ON CONFLICT DO NOTHING`,
    claim: `UPDATE ${s}.log_checkpoints
      SET owner = $3, lease_until = now() + make_interval(secs => $4::float8 / 1000)
      WHERE consumer_group = $1 AND partition = $2
        AND (owner IS NULL OR owner = $3 OR lease_until < now())
      RETURNING log_offset`,
    renew: `UPDATE ${s}.log_checkpoints
      SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
      WHERE consumer_group = $1 AND owner = $2 RETURNING partition`,
    commit: `UPDATE ${s}.log_checkpoints SET log_offset = $4
      WHERE consumer_group = $1 AND partition = $2 AND owner = $3`,
    release: `UPDATE ${s}.log_checkpoints SET owner = NULL, lease_until = NULL
      WHERE consumer_group = $1 AND partition = $2 AND owner = $3`,
    head: `SELECT coalesce(max(log_offset), 0) AS head FROM ${s}.log`,
    seek: `INSERT INTO ${s}.log_checkpoints (consumer_group, partition, log_offset)
      SELECT $1, p, $3 FROM generate_series(0, $2::int - 1) AS p
      ON CONFLICT (consumer_group, partition) DO UPDATE SET log_offset = $3
      WHERE ${s}.log_checkpoints.owner IS NULL OR ${s}.log_checkpoints.lease_until < now()`,
    firstAtOrAfter: `SELECT min(log_offset) AS position FROM ${s}.log WHERE appended_at >= $1`,
    lastAtOrBefore: `SELECT max(log_offset) AS position FROM ${s}.log WHERE appended_at <= $1`,
    historyCount: `SELECT count(*)::bigint AS n FROM ${s}.log
      WHERE log_offset >= $1 AND log_offset <= $2 AND ($3::text[] IS NULL OR partition_key = ANY($3))`,
    historyPage: `SELECT partition, log_offset, envelope FROM ${s}.log
      WHERE log_offset > $1 AND log_offset <= $2 AND ($3::text[] IS NULL OR partition_key = ANY($3))
      ORDER BY log_offset LIMIT $4`,
    groupLag: `SELECT c.partition, c.log_offset AS committed,
        coalesce((SELECT max(l.log_offset) FROM ${s}.log l WHERE l.partition = c.partition), 0) AS head,
        (SELECT count(*) FROM ${s}.log l WHERE l.partition = c.partition AND l.log_offset > c.log_offset) AS pending,
        c.owner
      FROM ${s}.log_checkpoints c WHERE c.consumer_group = $1 ORDER BY c.partition`,
  };
}
