import { describe, expect, it } from 'vitest';
import { errorsOf, estate, valid, yaml } from './helpers.js';

describe('topology: backbone setting', () => {
  it('defaults to postgres-log named tidemark when the file has no backbone', () => {
    expect(valid(yaml(...estate)).backbone).toEqual({ kind: 'postgres-log', name: 'tidemark' });
  });

  it('keeps kind, url, name and partitions of a broker backbone', () => {
    const topology = valid(
      yaml(
        ...estate,
        'backbone:', // 8
        '  kind: rabbitmq',
        '  url: amqp://guest:guest@127.0.0.1:5672/',
        '  name: orders',
        '  partitions: 12',
      ),
    );
    expect(topology.backbone).toEqual({
      kind: 'rabbitmq',
      url: 'amqp://guest:guest@127.0.0.1:5672/',
      name: 'orders',
      partitions: 12,
    });
  });

  it('accepts a url read from the environment', () => {
    const topology = valid(yaml(...estate, 'backbone:', '  kind: redis-streams', '  url: ${REDIS_URL}'));
    expect(topology.backbone.url).toBe('${REDIS_URL}');
  });

  it('names the valid kinds and the closest one for an unknown kind, on its line', () => {
    expect(errorsOf(yaml(...estate, 'backbone:', '  kind: rabbit-mq'))).toEqual([
      {
        line: 9,
        path: 'backbone.kind',
        message:
          "'rabbit-mq' is not allowed here; use one of postgres-log, nats-jetstream, rabbitmq, redis-streams — did you mean 'rabbitmq'?",
      },
    ]);
  });

  it.each([
    ['nats-jetstream', 'nats://127.0.0.1:4222'],
    ['rabbitmq', 'amqp://user:password@127.0.0.1:5672/vhost'],
    ['redis-streams', 'redis://127.0.0.1:6379/0'],
  ])('asks a %s backbone for its url, with an example', (kind, example) => {
    expect(errorsOf(yaml(...estate, 'backbone:', `  kind: ${kind}`))).toEqual([
      {
        line: 9,
        path: 'backbone.url',
        message: `backbone kind '${kind}' needs the broker's address: add url: ${example} (or url: \${VARIABLE} to read it from the environment)`,
      },
    ]);
  });

  it("refuses a url of another broker's scheme, hiding its password", () => {
    expect(
      errorsOf(yaml(...estate, 'backbone:', '  kind: redis-streams', '  url: amqp://app:s3cret@mq:5672/')),
    ).toEqual([
      {
        line: 10,
        path: 'backbone.url',
        message:
          "'amqp://app:***@mq:5672/' is not a redis-streams address; expected a URL starting with redis:// or rediss://, e.g. redis://127.0.0.1:6379/0",
      },
    ]);
  });

  it('refuses a url on postgres-log, whose log lives in the outbox database', () => {
    const errors = errorsOf(
      yaml(...estate, 'backbone:', '  kind: postgres-log', '  url: postgres://127.0.0.1/app'),
    );
    expect(errors).toEqual([
      {
        line: 10,
        path: 'backbone.url',
        message: expect.stringMatching(/^postgres-log .* takes no url: remove url/),
      },
    ]);
  });

  it('reports unknown fields, bad names and partition counts on their lines', () => {
    const errors = errorsOf(
      yaml(
        ...estate,
        'backbone:', // 8
        '  kind: nats-jetstream',
        '  url: nats://127.0.0.1:4222',
        '  name: Orders.Log', // 11
        '  partitions: 0', // 12
        '  servers: x', // 13
      ),
    );
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [11, 'backbone.name'],
      [12, 'backbone.partitions'],
      [13, 'backbone.servers'],
    ]);
    expect(errors[2]!.message).toMatch(
      /unknown field 'servers'; allowed fields: kind, url, name, partitions/,
    );
  });

  it('expects a mapping, not a bare kind', () => {
    expect(errorsOf(yaml(...estate, 'backbone: rabbitmq'))).toEqual([
      {
        line: 8,
        path: 'backbone',
        message:
          "expected a mapping, e.g. { kind: rabbitmq, url: amqp://guest:guest@127.0.0.1:5672/ }, got 'rabbitmq'",
      },
    ]);
  });
});
