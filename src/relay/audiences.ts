/**
 * Per-consumer minimized channels ("audiences"). The relay publishes each event whole to the
 * shared channel, which every unrestricted consumer group reads, and a copy cut down to the
 * allow-list to the channel of each restricted consumer that receives its entity type. A
 * restricted consumer subscribes to its own channel only, so a field it is not allowed never
 * reaches it: not its handler, inbox, held events or dead letters. Why copies at publish rather
 * than filtering at delivery: docs/schema.md, "Minimized channels".
 */
import type { Backbone, BatchHandler, PublishOptions, SubscribeOptions } from '../backbone/backbone.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import {
  claimAttribute,
  claimDigestAttribute,
  claimReferenceOf,
  claimSizeAttribute,
} from '../schema/claim-check/attributes.js';
import type { ClaimCheckStore } from '../schema/claim-check/store.js';
import { minimizeEnvelope, type FieldPolicy } from '../schema/minimize.js';
import type { SchemaLookup } from '../schema/schema-set.js';
import type { Sql } from '../store/db.js';
import { entityTypesTo, fieldPolicyOf, restrictedConsumers } from '../topology/field-policy.js';
import type { Topology } from '../topology/model.js';

import { minimizedAttribute } from './minimized.js';

export { minimizedAttribute };

export interface AudienceOptions {
  /** The channel of unrestricted consumers: every event, whole. */
  readonly shared: Backbone;
  /**
   * One channel per restricted consumer (a context with a flow that declares `fields`), e.g.
   * `{ billing: await createPostgresLog({ db, schema: 'tidemark_billing' }) }`. Other contexts
   * may be given one too: they then receive only their flows' entity types, PII withheld.
   */
  readonly audiences: Readonly<Record<string, Backbone>>;
  readonly topology: Topology;
  /** The schemas whose `x-pii` tags are withheld unless an allow-list opts in. */
  readonly schemas?: SchemaLookup;
  /**
   * Where claim-checked payloads are read: a copy is cut from the payload and carried inline
   * (a minimized copy is small). Required when producers claim-check events of a flow with an
   * audience; without it such an event stops the relay with `TM_CLAIM_CHECK_MISSING`.
   */
  readonly claimCheck?: ClaimCheckStore;
}

export interface AudienceBackbone extends Backbone {
  /** The channel `consumer` reads: its own when it has one, else the shared channel. */
  for(consumer: string): Backbone;
  /** The contexts with their own channel. */
  readonly audiences: readonly string[];
}

interface Audience {
  readonly consumer: string;
  readonly backbone: Backbone;
  readonly entityTypes: ReadonlySet<string>;
  readonly policy: FieldPolicy;
}

function invalid(message: string, context: Record<string, unknown>): TidemarkError {
  return new TidemarkError('TM_INVALID_ARGUMENT', message, { context });
}

/**
 * A backbone for the relay that fans each batch out to the shared channel and the audiences.
 * When every channel joins transactions of the same database (postgres-log logs in one
 * database, one schema each), the whole fan-out commits with the relay's cursor: exactly once.
 * Otherwise each channel gets the batch at least once (their idempotent publish absorbs repeats).
 */
export function createAudienceBackbone(options: AudienceOptions): AudienceBackbone {
  const { shared, topology } = options;
  const restricted = restrictedConsumers(topology);
  const missing = restricted.filter((c) => !Object.hasOwn(options.audiences, c));
  if (missing.length > 0) {
    throw invalid(
      `consumer${missing.length === 1 ? '' : 's'} ${missing.map((c) => `'${c}'`).join(', ')} ` +
        `${missing.length === 1 ? 'has' : 'have'} a field allow-list in the topology but no channel of ${missing.length === 1 ? 'its' : 'their'} own; ` +
        `add audiences.${missing[0]} (e.g. createPostgresLog({ db, schema: 'tidemark_${missing[0]!.replaceAll('-', '_')}' }))`,
      { missing },
    );
  }
  const known = new Set(topology.contexts.map((c) => c.name));
  const audiences: Audience[] = [];
  const seen = new Set<Backbone>([shared]);
  for (const [consumer, backbone] of Object.entries(options.audiences)) {
    if (!known.has(consumer)) {
      throw invalid(`audiences.${consumer}: '${consumer}' is not a context of the topology`, { consumer });
    }
    if (seen.has(backbone)) {
      throw invalid(
        `audiences.${consumer} is the same backbone as the shared channel or another audience; ` +
          'each audience needs a channel of its own (e.g. a postgres-log in its own schema)',
        { consumer },
      );
    }
    seen.add(backbone);
    audiences.push({
      consumer,
      backbone,
      entityTypes: new Set(entityTypesTo(topology, consumer)),
      policy: fieldPolicyOf(topology, consumer, options.schemas),
    });
  }
  const byConsumer = new Map(audiences.map((a) => [a.consumer, a.backbone]));
  const channels = [shared, ...audiences.map((a) => a.backbone)];
  const transactional =
    shared.capabilities.transactionalPublish &&
    shared.database !== undefined &&
    channels.every((b) => b.capabilities.transactionalPublish && b.database === shared.database);

  /** The audience's copy of an event: payload resolved if claim-checked, cut down, and marked. */
  async function copyFor(audience: Audience, event: Envelope, tx: Sql | undefined): Promise<Envelope> {
    let whole = event;
    if (claimReferenceOf(event)) {
      const sql = tx ?? shared.database;
      if (!options.claimCheck || !sql) {
        throw new TidemarkError(
          'TM_CLAIM_CHECK_MISSING',
          `event ${event.id} (${event.type}) is claim-checked and '${audience.consumer}' receives a minimized copy, ` +
            'but the audience backbone has no claim-check store to cut it from; set claimCheck (createClaimCheckStore)',
          { context: { eventId: event.id, type: event.type, consumer: audience.consumer } },
        );
      }
      whole = await options.claimCheck.resolve(sql, event);
      const record = { ...(whole as unknown as Record<string, unknown>) };
      for (const name of [claimAttribute, claimDigestAttribute, claimSizeAttribute]) delete record[name];
      whole = record as unknown as Envelope;
    }
    return {
      ...minimizeEnvelope(audience.policy, whole),
      [minimizedAttribute]: audience.consumer,
    } as Envelope;
  }

  async function fanOut(batch: readonly Envelope[], tx: Sql | undefined): Promise<void> {
    for (const audience of audiences) {
      const copies: Envelope[] = [];
      for (const event of batch) {
        if (audience.entityTypes.has(event.entitytype)) copies.push(await copyFor(audience, event, tx));
      }
      if (copies.length > 0) await audience.backbone.publish(copies, tx ? { tx } : {});
    }
  }

  const routed = (group: string): Backbone => byConsumer.get(group) ?? shared;

  const backbone: AudienceBackbone = {
    name: `${shared.name}+audiences`,
    capabilities: {
      persistent: channels.every((b) => b.capabilities.persistent),
      consumerGroups: channels.every((b) => b.capabilities.consumerGroups),
      idempotentPublish: channels.every((b) => b.capabilities.idempotentPublish),
      transactionalPublish: transactional,
    },
    partitions: shared.partitions,
    ...(shared.database ? { database: shared.database } : {}),
    audiences: audiences.map((a) => a.consumer),
    for: routed,
    async publish(batch: readonly Envelope[], publishOptions: PublishOptions = {}) {
      if (batch.length === 0) return;
      if (transactional && !publishOptions.tx) {
        await shared.database!.transaction(async (tx) => {
          await shared.publish(batch, { tx });
          await fanOut(batch, tx);
        });
        return;
      }
      const tx = transactional ? publishOptions.tx : undefined;
      await shared.publish(batch, tx ? { tx } : {});
      await fanOut(batch, tx);
    },
    // The group is the consumer's name: a restricted consumer lands on its own channel even
    // when it was handed this router instead of `for(name)`.
    subscribe: (group: string, handler: BatchHandler, subscribeOptions?: SubscribeOptions) =>
      routed(group).subscribe(group, handler, subscribeOptions),
    async close() {
      await Promise.all(channels.map((b) => b.close()));
    },
  };
  if (transactional && shared.publishFromOutbox) {
    const copyShared = shared.publishFromOutbox.bind(shared);
    backbone.publishFromOutbox = async (tx, outbox) => {
      if (outbox.rows.length === 0) return;
      await copyShared(tx, outbox);
      if (audiences.length === 0) return;
      const read = await tx.query<{ envelope: Envelope }>(
        `SELECT o.envelope || jsonb_build_object('entityversion', o.entity_version) AS envelope
           FROM unnest($1::xid8[], $2::bigint[]) WITH ORDINALITY AS u(txid, position, ord)
           JOIN ${outbox.quotedTable} o ON o.txid = u.txid AND o.position = u.position
          ORDER BY u.ord`,
        [outbox.rows.map((r) => r.txid), outbox.rows.map((r) => r.position)],
      );
      await fanOut(
        read.rows.map((r) => r.envelope),
        tx,
      );
    };
  }
  if (shared.seek) {
    backbone.seek = (group, position) => {
      const target = routed(group);
      if (!target.seek) throw invalid(`the channel of '${group}' cannot seek`, { group });
      return target.seek(group, position);
    };
  }
  return backbone;
}
