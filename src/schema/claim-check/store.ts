import { randomUUID } from 'node:crypto';
import { contentDigest } from '../../envelope/canonical.js';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';
import type { Sql } from '../../store/db.js';
import { quoteIdentifier } from '../../store/identifier.js';
import { claimAttribute, claimDigestAttribute, claimReferenceOf, claimSizeAttribute } from './attributes.js';

export interface ClaimCheckOptions {
  /** The Tidemark schema holding `claim_checks` (migration 8); default `tidemark`. */
  readonly schema?: string;
  /**
   * Where claims are read. Omit when the store is in the reader's own database (e.g. the
   * embedded estate, or a consumer that shares the authority's database): reads then use the
   * reader's open transaction. Give the authority's database (a read-only role suffices) otherwise.
   */
  readonly db?: Sql;
  /** Payloads whose JSON is larger than this many bytes are claim-checked; default 256 KiB. */
  readonly thresholdBytes?: number;
  /**
   * How long a stored payload is kept, in milliseconds; default 30 days. `null` keeps it until
   * deleted by hand. It must outlast the longest consumer lag and replay horizon: a claim read
   * after it was purged dead-letters the event (`TM_CLAIM_CHECK_MISSING`).
   */
  readonly retentionMs?: number | null;
}

export interface ClaimCheckStore {
  readonly thresholdBytes: number;
  /**
   * The envelope to put in the outbox: itself when its data is small, otherwise without
   * `data` and with the claim's reference, digest and size, the payload stored with `tx`
   * (the producer's transaction, so the payload exists if and only if the event does).
   */
  checkIn(tx: Sql, envelope: Envelope): Promise<Envelope>;
  /**
   * The envelope with its payload back in `data` after verifying the digest; an envelope
   * without a claim is returned as it is. `tx` is used when the store has no `db` of its own.
   * @throws TidemarkError `TM_CLAIM_CHECK_MISSING` (no such claim, or no reference) or
   *   `TM_CLAIM_CHECK_MISMATCH` (the stored payload does not hash to the envelope's digest).
   */
  resolve(tx: Sql, envelope: Envelope): Promise<Envelope>;
  /** Deletes claims past their retention, at most `limit` (default 10,000) per call; returns how many. */
  purgeExpired(sql: Sql, limit?: number): Promise<number>;
}

const defaultThreshold = 256 * 1024;
const defaultRetentionMs = 30 * 24 * 60 * 60 * 1000;
const digestPrefix = 'sha256:';

function checkOptions(options: ClaimCheckOptions): void {
  const { thresholdBytes, retentionMs } = options;
  if (thresholdBytes !== undefined && !(Number.isSafeInteger(thresholdBytes) && thresholdBytes >= 0)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `claim check thresholdBytes must be a whole number of bytes (0 or more), got ${JSON.stringify(thresholdBytes)}`,
      { context: { thresholdBytes } },
    );
  }
  if (
    retentionMs !== undefined &&
    retentionMs !== null &&
    !(Number.isSafeInteger(retentionMs) && retentionMs > 0)
  ) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `claim check retentionMs must be a positive whole number of milliseconds, or null to keep claims, got ${JSON.stringify(retentionMs)}`,
      { context: { retentionMs } },
    );
  }
}

/** Payloads over a size stored once in PostgreSQL, referenced and digested in the envelope. */
export function createClaimCheckStore(options: ClaimCheckOptions = {}): ClaimCheckStore {
  checkOptions(options);
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const thresholdBytes = options.thresholdBytes ?? defaultThreshold;
  const retentionMs = options.retentionMs === undefined ? defaultRetentionMs : options.retentionMs;
  const insert = `INSERT INTO ${s}.claim_checks
      (claim_id, event_type, entity_type, entity_id, digest, size_bytes, payload, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb,
      CASE WHEN $8::bigint IS NULL THEN NULL ELSE now() + $8::bigint * interval '1 millisecond' END)`;
  const select = `SELECT payload FROM ${s}.claim_checks WHERE claim_id = $1`;
  const purge = `DELETE FROM ${s}.claim_checks WHERE claim_id IN (
      SELECT claim_id FROM ${s}.claim_checks WHERE expires_at <= now() LIMIT $1)`;

  return {
    thresholdBytes,

    async checkIn(tx, envelope) {
      if (envelope.data === undefined) return envelope;
      const json = JSON.stringify(envelope.data);
      const size = Buffer.byteLength(json, 'utf8');
      if (size <= thresholdBytes) return envelope;
      const claimId = randomUUID();
      const digest = `${digestPrefix}${contentDigest(envelope.data)}`;
      await tx.query(insert, [
        claimId,
        envelope.type,
        envelope.entitytype,
        envelope.entityid,
        digest,
        size,
        json,
        retentionMs,
      ]);
      const { data: _stored, ...rest } = envelope;
      return {
        ...rest,
        [claimAttribute]: claimId,
        [claimDigestAttribute]: digest,
        [claimSizeAttribute]: size,
      } as Envelope;
    },

    async resolve(tx, envelope) {
      const reference = claimReferenceOf(envelope);
      if (!reference) return envelope;
      const event = `event ${envelope.id} (${envelope.type})`;
      const context = { eventId: envelope.id, type: envelope.type, claimId: reference.claimId };
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(reference.claimId)) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISSING',
          `${event} is claim-checked but its ${claimAttribute} attribute is ${JSON.stringify(reference.claimId)}, not a claim id (a UUID); ` +
            'the producer must send the reference its claim-check store returned',
          { context },
        );
      }
      if (!reference.digest?.startsWith(digestPrefix)) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISMATCH',
          `${event} has claim ${reference.claimId} without a ${claimDigestAttribute} of the form "sha256:<hex>"; ` +
            'a payload cannot be trusted without its digest',
          { context },
        );
      }
      if ('data' in envelope && envelope.data !== undefined) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISMATCH',
          `${event} carries both data and claim ${reference.claimId}; a claim-checked event carries no data`,
          { context },
        );
      }
      const found = await (options.db ?? tx).query<{ payload: unknown }>(select, [reference.claimId]);
      const row = found.rows[0];
      if (!row) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISSING',
          `${event} refers to claim ${reference.claimId}, which the claim-check store does not hold ` +
            '(purged after its retention, or written to another store); raise retentionMs above the replay horizon, ' +
            'or re-publish the entity',
          { context },
        );
      }
      const actual = `${digestPrefix}${contentDigest(row.payload)}`;
      if (actual !== reference.digest) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISMATCH',
          `${event}: the payload of claim ${reference.claimId} hashes to ${actual}, not the ${reference.digest} the event carries; ` +
            'the stored payload was changed or the reference is wrong, so it is not applied',
          { context: { ...context, expected: reference.digest, actual } },
        );
      }
      const record = { ...(envelope as unknown as Record<string, unknown>) };
      delete record[claimAttribute];
      delete record[claimDigestAttribute];
      delete record[claimSizeAttribute];
      return { ...record, data: row.payload } as unknown as Envelope;
    },

    async purgeExpired(sql, limit = 10_000) {
      return (await sql.query(purge, [limit])).rowCount;
    },
  };
}
