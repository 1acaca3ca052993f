import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPullClient, type PullClient } from '../../src/pull/index.js';

/**
 * An "authority" that answers whatever the test says (a misconfigured proxy, another service,
 * a buggy read API). The client must raise TM_AUTHORITY_BAD_RESPONSE and never hand the answer
 * out or cache it.
 */

let server: FastifyInstance;
let base: string;
let answer: { status: number; body: string; contentType?: string } = { status: 200, body: '{}' };
let hits = 0;

beforeAll(async () => {
  server = Fastify();
  const send = async (_request: unknown, reply: FastifyReply) => {
    hits++;
    return reply
      .code(answer.status)
      .type(answer.contentType ?? 'application/json')
      .send(answer.body);
  };
  server.get('/entities/:type/:id', send);
  server.post('/entities/:type', send);
  await server.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await server.close();
});

const newClient = (): PullClient => createPullClient({ baseUrl: base, consumer: 'c', retries: 2 });

const entity = (over: Record<string, unknown>) =>
  JSON.stringify({ type: 'customer', id: 'c-1', version: 3, state: { name: 'Ada' }, ...over });

describe('garbage answers to get', () => {
  it.each([
    ['not JSON', { body: '<html>Sign in</html>', contentType: 'text/html' }, /the body is not JSON/],
    ['an array', { body: '[]' }, /expected an object, got \[\]/],
    ['null', { body: 'null' }, /expected an object, got null/],
    ['another id', { body: entity({ id: 'c-2' }) }, /id is "c-2", expected "c-1"/],
    ['another type', { body: entity({ type: 'policy' }) }, /type is "policy", expected "customer"/],
    ['version 0', { body: entity({ version: 0 }) }, /version is 0, expected an integer from 1/],
    ['a negative version', { body: entity({ version: -4 }) }, /version is -4/],
    ['a fractional version', { body: entity({ version: 1.5 }) }, /version is 1.5/],
    ['a string version', { body: entity({ version: '3' }) }, /version is "3"/],
    ['a huge version', { body: entity({ version: 2 ** 53 }) }, /version is 9007199254740992/],
    ['no state', { body: JSON.stringify({ type: 'customer', id: 'c-1', version: 3 }) }, /state is missing/],
    ['a bad updatedAt', { body: entity({ updatedAt: 'yesterday' }) }, /updatedAt is "yesterday"/],
    [
      'a version below minVersion',
      { body: entity({ version: 3 }), minVersion: 4 },
      /version 3 is below the requested minVersion 4/,
    ],
    ['an unexpected status', { status: 418, body: '{}' }, /unexpected HTTP status 418/],
    ['304 without If-None-Match', { status: 304, body: '' }, /HTTP 304 to a request without If-None-Match/],
    [
      '409 that is not a version problem',
      { status: 409, body: '{"code":"OTHER"}' },
      /unexpected HTTP status 409/,
    ],
  ])('raises TM_AUTHORITY_BAD_RESPONSE for %s, without retrying or caching', async (_name, spec, message) => {
    const { minVersion, ...rest } = spec as typeof spec & { minVersion?: number };
    answer = { status: 200, ...rest };
    hits = 0;
    const client = newClient();
    try {
      const error = await client
        .get('customer', 'c-1', minVersion ? { minVersion } : {})
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'TidemarkError',
        code: 'TM_AUTHORITY_BAD_RESPONSE',
        retryable: false,
        status: 502,
      });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(base);
      expect(client.cached('customer', 'c-1', { maxStalenessMs: 1e9 })).toBeUndefined();
      expect(client.stats().breaker).toBe('closed');
      expect(hits).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe('garbage answers to batchGet', () => {
  const ok = { type: 'customer', id: 'a', version: 1, state: {} };
  it.each([
    ['no lists', {}, /entities is undefined, expected an array/],
    ['an id left out', { entities: [ok], missing: [] }, /leaves out "b"/],
    [
      'an id twice',
      { entities: [ok, ok], missing: ['b'] },
      /names "a", which was not asked for or is answered twice/,
    ],
    ['an id not asked for', { entities: [ok], missing: ['b', 'z'] }, /names "z"/],
    ['a bad entity', { entities: [{ ...ok, version: 'x' }], missing: ['b'] }, /version is "x"/],
    [
      'a bogus behind',
      { entities: [ok], missing: [], behind: [{ id: 'b', currentVersion: 9 }] },
      /not below a requested minVersion/,
    ],
  ])('raises TM_AUTHORITY_BAD_RESPONSE for %s', async (_name, body, message) => {
    answer = { status: 200, body: JSON.stringify(body) };
    const client = newClient();
    try {
      await expect(client.batchGet('customer', ['a', 'b'])).rejects.toMatchObject({
        code: 'TM_AUTHORITY_BAD_RESPONSE',
        message: expect.stringMatching(message),
      });
      expect(client.cached('customer', 'a', { maxStalenessMs: 1e9 })).toBeUndefined();
    } finally {
      client.close();
    }
  });
});
