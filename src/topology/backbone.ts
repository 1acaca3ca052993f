import { Type } from '@sinclair/typebox';
import type { Path, TopologyIssue } from './issues.js';

/*
 * The `backbone` setting of a topology file: which adapter carries the events and where its
 * server is. Shape here (merged into schema.ts), cross-field rules in `backboneIssues` (run by
 * check.ts), and the frozen value in `buildBackbone`. Opening the adapter is not the
 * topology's business: src/backbone/select.ts does that, loading the adapter only when chosen.
 */

/** The adapters a topology can name; webhooks are a fan-out to HTTP subscribers, not a backbone. */
export const backboneKinds = ['postgres-log', 'nats-jetstream', 'rabbitmq', 'redis-streams'] as const;
export type BackboneKind = (typeof backboneKinds)[number];

export interface BackboneSetting {
  readonly kind: BackboneKind;
  /**
   * The broker's address (`nats://…`, `amqp://…`, `redis://…`). May be `${VARIABLE}` so that a
   * password stays out of the file; it is read from the environment when the backbone opens.
   * Absent for postgres-log, whose log lives in the outbox's own database.
   */
  readonly url?: string;
  /** Names the adapter's stream, exchanges and queues, or key prefix (default `tidemark`). */
  readonly name: string;
  /** Partition count; absent: the adapter's default (16). Every instance must agree. */
  readonly partitions?: number;
}

/** What a backbone needs in its url, by kind; postgres-log takes none. */
const urlOf: Record<Exclude<BackboneKind, 'postgres-log'>, { protocols: string[]; example: string }> = {
  'nats-jetstream': { protocols: ['nats:', 'tls:'], example: 'nats://127.0.0.1:4222' },
  rabbitmq: { protocols: ['amqp:', 'amqps:'], example: 'amqp://user:password@127.0.0.1:5672/vhost' },
  'redis-streams': { protocols: ['redis:', 'rediss:'], example: 'redis://127.0.0.1:6379/0' },
};

/** `${NAME}`: the url comes from the environment when the backbone opens. */
export const environmentReference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export const BackboneSchema = Type.Object(
  {
    kind: Type.Unsafe<BackboneKind>({
      type: 'string',
      enum: [...backboneKinds],
      description: `the backbone adapter: one of ${backboneKinds.join(', ')}`,
    }),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "the broker's address, e.g. amqp://guest:guest@127.0.0.1:5672/ or ${TIDEMARK_BROKER_URL}",
      }),
    ),
    name: Type.String({
      pattern: '^[a-z][a-z0-9_-]{0,47}$',
      default: 'tidemark',
      description:
        'the stream / exchange / key prefix name: 1 to 48 lower-case letters, digits, "_" or "-", starting with a letter',
    }),
    partitions: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        description: 'a whole number of partitions from 1 to 1024 (default 16)',
      }),
    ),
  },
  {
    additionalProperties: false,
    default: { kind: 'postgres-log' },
    description: 'a mapping, e.g. { kind: rabbitmq, url: amqp://guest:guest@127.0.0.1:5672/ }',
  },
);

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The rules between `kind` and `url`; the schema has already judged each value on its own. */
export function backboneIssues(document: Readonly<Record<string, unknown>>): TopologyIssue[] {
  const setting = document.backbone;
  if (!isRecord(setting) || typeof setting.kind !== 'string') return [];
  const kind = setting.kind;
  const url = setting.url;
  const path: Path = ['backbone', 'url'];
  if (kind === 'postgres-log') {
    return url === undefined
      ? []
      : [
          {
            path,
            at: 'key',
            message:
              "postgres-log keeps its log in the outbox's own database, so it takes no url: remove " +
              'url (the application passes its database), or choose a broker kind',
          },
        ];
  }
  const needs = urlOf[kind as keyof typeof urlOf];
  if (needs === undefined) return []; // an unknown kind: the schema reports it, with the valid kinds
  if (url === undefined) {
    return [
      {
        path,
        message: `backbone kind '${kind}' needs the broker's address: add url: ${needs.example} (or url: \${VARIABLE} to read it from the environment)`,
      },
    ];
  }
  if (typeof url !== 'string' || environmentReference.test(url)) return [];
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== undefined && needs.protocols.includes(protocol)) return [];
  return [
    {
      path,
      message: `'${redact(url)}' is not a ${kind} address; expected a URL starting with ${needs.protocols
        .map((p) => `${p}//`)
        .join(' or ')}, e.g. ${needs.example}`,
    },
  ];
}

/** A URL for messages: the password replaced by `***`. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** The frozen setting of a document that passed the schema and `backboneIssues`. */
export function buildBackbone(raw: {
  kind: BackboneKind;
  url?: string;
  name: string;
  partitions?: number;
}): BackboneSetting {
  return {
    kind: raw.kind,
    name: raw.name,
    ...(raw.url === undefined ? {} : { url: raw.url }),
    ...(raw.partitions === undefined ? {} : { partitions: raw.partitions }),
  };
}
