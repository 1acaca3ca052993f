import type { Backbone } from '../backbone/backbone.js';
import { openBackbone } from '../backbone/select.js';
import type { Db } from '../store/db.js';
import type { BackboneKind } from '../topology/backbone.js';
import { contexts } from './estate.js';

/** Where each broker listens when neither an option nor the environment says otherwise. */
export const defaultBrokerUrls: Record<Exclude<BackboneKind, 'postgres-log'>, string> = {
  'nats-jetstream': process.env.TIDEMARK_NATS ?? 'nats://127.0.0.1:4222',
  rabbitmq: process.env.TIDEMARK_RABBITMQ ?? 'amqp://guest:guest@127.0.0.1:5672/',
  'redis-streams': process.env.TIDEMARK_REDIS ?? 'redis://127.0.0.1:6379/0',
};

/**
 * The demo's stream / exchange / key prefix, named after its database: two demos on different
 * databases of one server never share a stream, and a demo only ever deletes its own.
 */
export function demoBackboneName(connectionString: string): string {
  let database = 'postgres';
  try {
    database = decodeURIComponent(new URL(connectionString).pathname.slice(1)) || database;
  } catch {
    // Not a URL (a libpq key=value string): the default name is still the demo's own.
  }
  const tag = database.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return `tidemark-demo-${tag}`.slice(0, 48);
}

/**
 * Opens the demo's backbone through the same factory a topology's `backbone` setting uses,
 * started empty so every run shows its own events only. Short beats so a run stays short.
 */
export function openDemoBackbone(options: {
  kind: BackboneKind;
  url?: string;
  name: string;
}): (db: Db, authoritySchema: string) => Promise<Backbone> {
  return (db, authoritySchema) => {
    const url =
      options.kind === 'postgres-log' ? undefined : (options.url ?? defaultBrokerUrls[options.kind]);
    return openBackbone(
      {
        kind: options.kind,
        name: options.name,
        partitions: 8,
        // Passed through as given: the NATS client also takes `--nats`'s host:port form.
        ...(url === undefined ? {} : { url }),
      },
      {
        db,
        schema: authoritySchema,
        groups: [contexts.billing, contexts.policy, contexts.claims, contexts.communications],
        startEmpty: true,
        timing:
          options.kind === 'postgres-log'
            ? { heartbeatMs: 500, pollMs: 50, retryBaseMs: 5, retryMaxMs: 50 }
            : { heartbeatMs: 1_000, memberTtlMs: 5_000, pollMs: 100 },
      },
    );
  };
}
