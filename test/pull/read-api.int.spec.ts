import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorityReadApi, type AuthorityRow, type EntityReader } from '../../src/pull/index.js';
import { embeddedDb, type TestDb } from '../support/services.js';

/**
 * The authority's read API on a real Fastify server (127.0.0.1, random port), reading a
 * customers table in PGlite, called over HTTP with fetch.
 */

let t: TestDb;
let app: FastifyInstance;
let base: string;
let broken: FastifyInstance;
let brokenBase: string;

const customers =
  (db: TestDb): EntityReader =>
  async (ids) =>
    (
      await db.db.query<{ id: string; version: number; state: unknown; updated_at: Date }>(
        `SELECT id, version, state, updated_at FROM "${db.schema}".customers WHERE id = ANY($1)`,
        [ids],
      )
    ).rows.map((r): AuthorityRow => ({
      id: r.id,
      version: r.version,
      state: r.state,
      updatedAt: r.updated_at,
    }));

async function listen(server: FastifyInstance): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  t = await embeddedDb();
  await t.db.query(`CREATE TABLE "${t.schema}".customers (
    id text PRIMARY KEY, version int NOT NULL, state jsonb NOT NULL, updated_at timestamptz NOT NULL)`);
  await t.db.query(
    `INSERT INTO "${t.schema}".customers VALUES
       ('c-1', 3, '{"name":"Ada","address":"1 Main St","iban":"DE00 1234","risk":"low"}', '2025-03-01T10:00:00Z'),
       ('c-2', 1, '{"name":"Bo","address":"2 Side St","iban":"DE00 9999","risk":"high"}', '2025-03-02T11:30:00Z'),
       ('c/3', 5, '"just text"', '2025-03-03T00:00:00Z')`,
  );
  app = Fastify();
  await app.register(authorityReadApi, {
    readers: { customer: customers(t), policy: async () => [] },
    fields: {
      billing: { customer: ['name', 'address', 'iban'] },
      communications: { customer: ['name', 'address'] },
      claims: { policy: ['number'] },
    },
  });
  base = await listen(app);
  // A second authority without projection, whose readers misbehave.
  broken = Fastify({ logger: false });
  await broken.register(authorityReadApi, {
    readers: {
      customer: customers(t),
      garbage: async (ids) => ids.map((id) => ({ id, version: 0, state: {}, updatedAt: new Date() })),
      stranger: async () => [{ id: 'someone-else', version: 1, state: {}, updatedAt: new Date() }],
      failing: async () => {
        throw new Error('connection to 10.0.0.7 refused: password authentication failed for "app"');
      },
    },
  });
  brokenBase = await listen(broken);
});

afterAll(async () => {
  await app?.close();
  await broken?.close();
  await t?.cleanup();
});

const get = (path: string, headers: Record<string, string> = {}, root = base) =>
  fetch(`${root}${path}`, { headers: { 'tidemark-consumer': 'billing', ...headers } });

const post = (path: string, body: unknown, headers: Record<string, string> = {}, root = base) =>
  fetch(`${root}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'tidemark-consumer': 'billing', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: response.status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.type).toBe(`urn:tidemark:error:${String(body.code)}`);
  return body;
}

describe('GET /entities/:type/:id', () => {
  it('answers 200 with the projected state, ETag "<version>" and Last-Modified', async () => {
    const response = await get('/entities/customer/c-1');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('etag')).toBe('"3"');
    expect(response.headers.get('last-modified')).toBe('Sat, 01 Mar 2025 10:00:00 GMT');
    expect(response.headers.get('vary')).toMatch(/Tidemark-Consumer/);
    expect(await response.json()).toEqual({
      type: 'customer',
      id: 'c-1',
      version: 3,
      state: { name: 'Ada', address: '1 Main St', iban: 'DE00 1234' },
      updatedAt: '2025-03-01T10:00:00.000Z',
    });
  });

  it('gives each consumer only its allowed fields', async () => {
    const response = await get('/entities/customer/c-2', { 'tidemark-consumer': 'communications' });
    expect(((await response.json()) as { state: unknown }).state).toEqual({
      name: 'Bo',
      address: '2 Side St',
    });
  });

  it('decodes ids with reserved characters and projects a non-object state to {}', async () => {
    const response = await get(`/entities/customer/${encodeURIComponent('c/3')}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 'c/3', version: 5, state: {} });
  });

  it('answers 304 to If-None-Match with the current ETag (strong, weak, listed or *), 200 to an old one', async () => {
    for (const tag of ['"3"', 'W/"3"', '"1", "3"', '*']) {
      const response = await get('/entities/customer/c-1', { 'if-none-match': tag });
      expect(response.status, tag).toBe(304);
      expect(response.headers.get('etag')).toBe('"3"');
      expect(await response.text()).toBe('');
    }
    const stale = await get('/entities/customer/c-1', { 'if-none-match': '"2"' });
    expect(stale.status).toBe(200);
  });

  it('answers 409 problem+json with currentVersion and Retry-After when minVersion is ahead', async () => {
    const response = await get('/entities/customer/c-1?minVersion=4');
    expect(response.status).toBe(409);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await problem(response)).toMatchObject({
      code: 'TM_VERSION_NOT_REACHED',
      currentVersion: 3,
      minVersion: 4,
      instance: '/entities/customer/c-1?minVersion=4',
    });
    for (const ok of [1, 3]) expect((await get(`/entities/customer/c-1?minVersion=${ok}`)).status).toBe(200);
  });

  it.each(['abc', '0', '-2', '1.5', '', '99999999999', '3&minVersion=4'])(
    'refuses minVersion=%s with 400 naming the parameter',
    async (value) => {
      const response = await get(`/entities/customer/c-1?minVersion=${value}`);
      expect(response.status).toBe(400);
      const body = await problem(response);
      expect(body.code).toBe('TM_INVALID_ARGUMENT');
      expect(body.detail).toMatch(/querystring parameter 'minVersion'/);
      expect(body.context).toMatchObject({ location: 'querystring', parameter: 'minVersion' });
    },
  );

  it('answers 404 problem+json for an unknown id and for an unknown type', async () => {
    const id = await get('/entities/customer/nobody');
    expect(id.status).toBe(404);
    expect(await problem(id)).toMatchObject({
      code: 'TM_ENTITY_NOT_FOUND',
      context: { type: 'customer', id: 'nobody' },
    });
    const type = await get('/entities/planet/earth');
    expect(type.status).toBe(404);
    const body = await problem(type);
    expect(body).toMatchObject({ code: 'TM_ENTITY_NOT_FOUND' });
    expect(body.detail).toMatch(/serves no entity type 'planet' \(it serves: customer, policy\)/);
  });

  it('refuses with 403 a missing or unknown consumer, and one without fields for the type, before revealing anything', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ 'tidemark-consumer': '' }, '/entities/customer/c-1', /name yours in the Tidemark-Consumer header/],
      [
        { 'tidemark-consumer': 'marketing' },
        '/entities/customer/c-1',
        /consumer 'marketing' has no field allow-list/,
      ],
      [{ 'tidemark-consumer': 'marketing' }, '/entities/planet/x', /consumer 'marketing'/],
      [
        { 'tidemark-consumer': 'claims' },
        '/entities/customer/nobody',
        /'claims' may read no fields of 'customer'/,
      ],
    ];
    for (const [headers, path, detail] of cases) {
      const response = await get(path, headers);
      expect(response.status, path).toBe(403);
      const body = await problem(response);
      expect(body.code).toBe('TM_CONSUMER_NOT_ALLOWED');
      expect(body.detail).toMatch(detail);
    }
  });

  it('answers 500 problem+json without internals when a reader fails, and refuses a reader bug', async () => {
    const failing = await get('/entities/failing/x', {}, brokenBase);
    expect(failing.status).toBe(500);
    const body = await problem(failing);
    expect(body.code).toBe('TM_UNEXPECTED');
    expect(JSON.stringify(body)).not.toMatch(/10\.0\.0\.7|password/);
    const garbage = await get('/entities/garbage/x', {}, brokenBase);
    expect(garbage.status).toBe(500);
    expect((await problem(garbage)).detail).toMatch(/returned version 0 for 'x'/);
    const stranger = await get('/entities/stranger/x', {}, brokenBase);
    expect(stranger.status).toBe(500);
    expect((await problem(stranger)).detail).toMatch(/an id it was not asked for/);
  });

  it('serves the whole state when no fields are configured, whatever the header says', async () => {
    const response = await get('/entities/customer/c-1', { 'tidemark-consumer': 'anyone' }, brokenBase);
    expect(((await response.json()) as { state: unknown }).state).toMatchObject({ risk: 'low' });
    expect(response.headers.get('vary')).toBeNull();
  });
});

describe('POST /entities/:type:batchGet', () => {
  it('answers found entities in request order, missing ids, and ids behind their minVersion', async () => {
    const response = await post('/entities/customer:batchGet', {
      ids: ['c-2', 'nobody', 'c-1', 'c-2', 'c/3'],
      minVersions: { 'c-1': 4, 'c-2': 1 },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      entities: [
        {
          type: 'customer',
          id: 'c-2',
          version: 1,
          state: { name: 'Bo', address: '2 Side St', iban: 'DE00 9999' },
          updatedAt: '2025-03-02T11:30:00.000Z',
        },
        { type: 'customer', id: 'c/3', version: 5, state: {}, updatedAt: '2025-03-03T00:00:00.000Z' },
      ],
      missing: ['nobody'],
      behind: [{ id: 'c-1', currentVersion: 3, minVersion: 4 }],
    });
  });

  it('accepts 100 ids and refuses 101 naming the parameter', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `x-${i}`);
    const ok = await post('/entities/customer:batchGet', { ids: hundred });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { missing: string[] }).missing).toHaveLength(100);
    const tooMany = await post('/entities/customer:batchGet', { ids: [...hundred, 'x-100'] });
    expect(tooMany.status).toBe(400);
    const body = await problem(tooMany);
    expect(body.detail).toMatch(/body parameter 'ids' must NOT have more than 100 items/);
  });

  it.each([
    ['not JSON', '{"ids": [', /request body refused/],
    ['no ids', {}, /body parameter 'ids' must have required property 'ids'/],
    ['ids not an array', { ids: 'c-1' }, /body parameter 'ids' must be array/],
    ['empty ids', { ids: [] }, /'ids' must NOT have fewer than 1 items/],
    ['an empty id', { ids: ['c-1', ''] }, /body parameter 'ids\[1\]'/],
    ['a number id', { ids: [7] }, /body parameter 'ids\[0\]' must be string/],
    ['an unknown property', { ids: ['c-1'], fields: ['name'] }, /body parameter 'fields' is not allowed/],
    [
      'a bad minVersion',
      { ids: ['c-1'], minVersions: { 'c-1': 0 } },
      /body parameter 'minVersions.c-1' must be >= 1/,
    ],
    [
      'a string minVersion',
      { ids: ['c-1'], minVersions: { 'c-1': '2' } },
      /'minVersions.c-1' must be integer/,
    ],
    [
      'a minVersion for another id',
      { ids: ['c-1'], minVersions: { 'c-9': 2 } },
      /minVersions names 'c-9', not among ids/,
    ],
  ])('refuses a body with %s: 400 problem+json', async (_name, body, detail) => {
    const response = await post('/entities/customer:batchGet', body);
    expect(response.status).toBe(400);
    const doc = await problem(response);
    expect(doc.code).toBe('TM_INVALID_ARGUMENT');
    expect(doc.detail).toMatch(detail);
  });

  it('refuses a body of another media type with problem+json (400 for text, 415 for an unknown type)', async () => {
    const text = await post('/entities/customer:batchGet', 'ids=c-1', { 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect((await problem(text)).detail).toMatch(/^body must be object; send \{"ids"/);
    const xml = await post('/entities/customer:batchGet', '<ids/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect((await problem(xml)).code).toBe('TM_INVALID_ARGUMENT');
  });

  it('applies projection and the consumer rules, and 404s an unknown type', async () => {
    const projected = await post(
      '/entities/customer:batchGet',
      { ids: ['c-1'] },
      { 'tidemark-consumer': 'communications' },
    );
    expect(((await projected.json()) as { entities: Array<{ state: unknown }> }).entities[0]!.state).toEqual({
      name: 'Ada',
      address: '1 Main St',
    });
    expect(
      (await post('/entities/customer:batchGet', { ids: ['c-1'] }, { 'tidemark-consumer': 'x' })).status,
    ).toBe(403);
    const unknown = await post('/entities/planet:batchGet', { ids: ['earth'] });
    expect(unknown.status).toBe(404);
    expect((await problem(unknown)).code).toBe('TM_ENTITY_NOT_FOUND');
  });
});

describe('authorityReadApi options', () => {
  it.each([
    [{ readers: {} }, /option readers: expected at least one entity type/],
    [{ readers: { customer: 'SELECT *' } }, /option readers.customer: expected a function/],
    [{ readers: { 'a:b': async () => [] } }, /option readers.a:b: expected an entity type/],
    [
      { readers: { customer: async () => [] }, fields: { billing: { policy: ['x'] } } },
      /fields.billing.policy: expected one of the served types \(customer\)/,
    ],
    [
      { readers: { customer: async () => [] }, fields: { billing: { customer: 'name' } } },
      /fields.billing.customer: expected an array of field names/,
    ],
  ])('refuses bad options at registration, naming the path (%#)', async (options, message) => {
    const server = Fastify();
    await expect(server.register(authorityReadApi, options as never).ready()).rejects.toMatchObject({
      code: 'TM_INVALID_ARGUMENT',
      message: expect.stringMatching(message),
    });
    await server.close();
  });
});
