import { describe, expect, it } from 'vitest';
import { openBackbone, resolveBackboneUrl } from '../../src/backbone/select.js';
import type { BackboneSetting } from '../../src/topology/index.js';

const rabbit = (url: string): BackboneSetting => ({ kind: 'rabbitmq', name: 'orders', url });

describe('backbone selection', () => {
  it('reads a ${VARIABLE} url from the environment and keeps a literal url as it is', () => {
    expect(resolveBackboneUrl(rabbit('${MQ_URL}'), { MQ_URL: 'amqp://app:pw@mq:5672/' })).toBe(
      'amqp://app:pw@mq:5672/',
    );
    expect(resolveBackboneUrl(rabbit('amqp://127.0.0.1:5672/'), {})).toBe('amqp://127.0.0.1:5672/');
  });

  it('names the unset variable and how to set it', () => {
    expect(() => resolveBackboneUrl(rabbit('${MQ_URL}'), {})).toThrow(
      expect.objectContaining({
        code: 'TM_INVALID_ARGUMENT',
        message: expect.stringMatching(/environment variable MQ_URL, which is not set: export MQ_URL=/),
      }),
    );
  });

  it('asks for the database when postgres-log is opened without one', async () => {
    await expect(openBackbone({ kind: 'postgres-log', name: 'tidemark' })).rejects.toMatchObject({
      code: 'TM_INVALID_ARGUMENT',
      message: expect.stringMatching(/postgres-log' keeps its log in the outbox's database: pass db/),
    });
  });

  it('refuses a kind it does not know, with the valid ones and the closest', async () => {
    const setting = { kind: 'redis-stream', name: 'x' } as unknown as BackboneSetting;
    await expect(openBackbone(setting)).rejects.toMatchObject({
      code: 'TM_INVALID_ARGUMENT',
      message: expect.stringMatching(
        /unknown backbone kind 'redis-stream'; use one of postgres-log, nats-jetstream, rabbitmq, redis-streams — did you mean 'redis-streams'\?/,
      ),
    });
  });

  it('fails a broker kind without a url before connecting', async () => {
    await expect(openBackbone({ kind: 'redis-streams', name: 'x' })).rejects.toMatchObject({
      code: 'TM_INVALID_ARGUMENT',
      message: expect.stringMatching(/backbone 'redis-streams' needs url/),
    });
  });
});
