import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/server/index.js';
import { waitUntil } from '../support/wait.js';
import { asOperator, asViewer, estateServer, startEstate, type Estate } from './estate.js';

interface Endpoint {
  readonly method: string;
  readonly template: string;
}

/** A path segment as a careless or hostile client might send it. */
const segment = fc.oneof(
  fc.constantFrom('billing', 'communications', 'customer', 'c-1', 'send-letter', '1', '2', '0', '-1'),
  fc.constantFrom('999999999999999999999999', '1e309', 'NaN', '%00', '%ED%A0%80', '..', '%2F', ' '),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer().map(String),
);

const encode = (value: string): string => {
  if (/^%[0-9A-F]{2}/.test(value)) return value; // already percent-encoded on purpose
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80'; // a lone surrogate: send the bytes no valid UTF-8 has
  }
};

const queryValue = fc.oneof(
  fc.constantFrom('1', '0', '-5', '1001', 'abc', 'active', 'parked', 'all', '', '1.5', 'true'),
  fc.string({ maxLength: 30 }),
);
const query = fc
  .dictionary(fc.constantFrom('limit', 'status', 'consumer', 'version', 'type', 'junk'), queryValue, {
    maxKeys: 3,
  })
  .map((q) =>
    Object.entries(q)
      .map(([k, v]) => `${k}=${encode(v)}`)
      .join('&'),
  );

const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    '{',
    '{"reason": ',
    'null',
    '[]',
    '"text"',
    '{"reason":"ok"',
    '\u0000',
    '{"reason":"\\u0000abc"}',
  ),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        reason: fc.oneof(fc.string({ maxLength: 50 }), fc.integer(), fc.constant(null), fc.jsonValue()),
        data: fc.jsonValue({ maxDepth: 3 }),
        fromPosition: fc.oneof(fc.integer(), fc.double(), fc.string()),
        toPosition: fc.oneof(fc.integer(), fc.constant(-1)),
        fromTime: fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        keys: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.integer({ min: 60_000, max: 200_000 }).map((n) => JSON.stringify({ reason: 'x'.repeat(n) })),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  undefined,
);
const auth = fc.constantFrom(
  asOperator,
  asViewer,
  {},
  { authorization: 'Bearer nope' },
  { authorization: 'x' },
);

describe('control plane under malformed and hostile requests (live server)', () => {
  let estate: Estate;
  let server: ControlPlane;
  let base: string;
  let endpoints: Endpoint[];

  beforeAll(async () => {
    estate = await startEstate();
    server = await estateServer(estate, { bodyLimit: 64 * 1024, lagSampleMs: 0, dashboardDir: false });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    await estate.change('c-1', '1 Quay');
    await estate.change('c-2', 'POISON');
    await estate.change('c-2', '2 Quay');
    await waitUntil(
      async () =>
        (await server.app.inject({ url: '/api/dead-letters', headers: asViewer })).json().deadLetters.length,
      2,
      20_000,
      'a parked key',
    );
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    endpoints = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), template })),
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await estate?.stop();
  });

  it('covers every endpoint of the OpenAPI document', () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(18);
    expect(endpoints).toContainEqual({
      method: 'POST',
      template: '/api/consumers/{consumer}/dead-letters/{id}/edit',
    });
  });

  it('never answers 5xx, never hangs, and every error is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        query,
        body,
        contentType,
        auth,
        async (pick, segments, q, payload, type, headers) => {
          const endpoint = endpoints[pick % endpoints.length]!;
          let i = 0;
          const path = endpoint.template.replace(/\{[^}]+\}/g, () => encode(segments[i++]!));
          const withBody = endpoint.method === 'POST' && payload !== undefined;
          const res = await fetch(`${base}${path}${q ? `?${q}` : ''}`, {
            method: endpoint.method,
            headers: { ...headers, ...(withBody && type ? { 'content-type': type } : {}) },
            ...(withBody ? { body: payload } : {}),
            signal: AbortSignal.timeout(15_000),
          });
          const text = await res.text();
          expect(res.status, `${endpoint.method} ${path}?${q} → ${text.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toContain('application/problem+json');
            const problem = JSON.parse(text) as { type: string; title: string; detail: string };
            expect(problem.type).toMatch(/^urn:tidemark:error:TM_/);
            expect(problem.title.length).toBeGreaterThan(0);
            expect(problem.detail.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300, seed: 20261126, endOnFailure: true },
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 180_000);
});
