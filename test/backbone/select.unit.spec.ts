import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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

  it('leaves broker adapters and their clients to dynamic imports outside their own folders', () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const adapters = /^backbone\/(nats-jetstream|rabbitmq|redis-streams)\//;
    const staticImport =
      /^\s*(import|export)\s[^;]*?from\s+'([^']*\/(nats-jetstream|rabbitmq|redis-streams)\/[^']*|amqplib|ioredis|@nats-io\/[^']*)'/gm;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const name = relative(src, path);
        if (entry.isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !adapters.test(name)) {
          for (const match of readFileSync(path, 'utf8').matchAll(staticImport)) {
            // A type-only import loads nothing at run time.
            if (!/^\s*(import|export)\s+type\s/.test(match[0])) offenders.push(`${name}: ${match[2]}`);
          }
        }
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });
});
