/**
 * Interoperability with the official CloudEvents JavaScript SDK (`cloudevents` v10), in
 * structured JSON mode: what Tidemark writes the SDK reads, and what the SDK writes Tidemark
 * reads, with every attribute (extensions included) intact.
 */
import { CloudEvent, HTTP, type CloudEventV1, type Message } from 'cloudevents';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeInput, wireJson } from './arbitraries.js';
import {
  contentDigest,
  createEnvelope,
  eventKinds,
  extensionAttributes,
  parseEnvelope,
  validateEnvelope,
  type Envelope,
  type EnvelopeInput,
  type EventKind,
} from '../../src/envelope/index.js';

const structuredHeaders = { 'content-type': 'application/cloudevents+json; charset=utf-8' };

/** Reads a structured-mode HTTP message with the SDK, insisting on a single, valid event. */
function sdkRead(body: string): CloudEventV1<unknown> {
  const event = HTTP.toEvent<unknown>({ headers: structuredHeaders, body } satisfies Message);
  if (Array.isArray(event)) throw new Error('expected one event, got a batch');
  // HTTP.toEvent builds the event without validation; validate as a strict receiver would.
  return new CloudEvent<unknown>(event);
}

function fullInput(kind: EventKind): EnvelopeInput {
  return {
    kind,
    type: kind === 'domain' ? 'customer.AddressChanged' : undefined,
    authority: 'customer-profile',
    entityType: 'customer',
    entityId: 'c-42',
    entityVersion: 2_147_483_647,
    data: kind === 'tombstone' ? undefined : { city: 'Leeds', lines: ['1 Main St'], vip: false },
    id: `evt-${kind}`,
    // Millisecond UTC text, the form createEnvelope writes for Date inputs and the SDK writes back.
    time: '2026-01-31T12:00:00.000Z',
    correlationId: 'corr-1',
    causationId: 'evt-0',
    effectiveTime: '2026-02-01T00:00:00+01:00',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    schemaVersion: 2,
  };
}

/** Every attribute of `envelope`, CloudEvents core and Tidemark extensions alike, on the SDK event. */
function expectSameAttributes(event: CloudEventV1<unknown>, envelope: Envelope): void {
  for (const [attribute, value] of Object.entries(envelope)) {
    expect(event[attribute], attribute).toEqual(value);
  }
}

describe('Tidemark envelope read by the cloudevents SDK', () => {
  it.each(eventKinds)(
    'given a %s envelope with every extension, when the SDK constructs a CloudEvent from its JSON, then it validates and keeps every attribute',
    (kind) => {
      const envelope = createEnvelope(fullInput(kind));
      const event = new CloudEvent<unknown>(JSON.parse(JSON.stringify(envelope)) as CloudEventV1<unknown>);
      expect(event.validate()).toBe(true);
      expectSameAttributes(event, envelope);
      for (const attribute of extensionAttributes) {
        expect(event[attribute], attribute).toEqual(envelope[attribute]);
      }
    },
  );

  it.each(eventKinds)(
    'given a %s envelope, when it arrives over HTTP in structured mode, then HTTP.toEvent keeps every attribute',
    (kind) => {
      const envelope = createEnvelope(fullInput(kind));
      expectSameAttributes(sdkRead(JSON.stringify(envelope)), envelope);
    },
  );

  it('given any valid envelope createEnvelope builds, then the SDK accepts it in strict mode', () => {
    fc.assert(
      fc.property(envelopeInput({ textTimes: true }), (input) => {
        const envelope = createEnvelope(input);
        const event = new CloudEvent<unknown>(JSON.parse(JSON.stringify(envelope)) as CloudEventV1<unknown>);
        expectSameAttributes(event, envelope);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SDK-built event read by Tidemark', () => {
  it.each(eventKinds)(
    'given a %s event built with the SDK and our extensions, when serialized in structured mode, then parseEnvelope returns the same envelope createEnvelope builds',
    (kind) => {
      const expected = createEnvelope(fullInput(kind));
      const event = new CloudEvent<unknown>({
        specversion: '1.0',
        id: expected.id,
        source: '/contexts/customer-profile',
        type: expected.type,
        time: '2026-01-31T12:00:00.000Z',
        datacontenttype: 'application/json',
        subject: 'c-42',
        ...(expected.data === undefined ? {} : { data: expected.data }),
        eventkind: kind,
        entitytype: 'customer',
        entityid: 'c-42',
        entityversion: 2_147_483_647,
        partitionkey: 'customer/c-42',
        authority: 'customer-profile',
        correlationid: 'corr-1',
        causationid: 'evt-0',
        effectivetime: '2026-02-01T00:00:00+01:00',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        schemaversion: 2,
      });

      const viaHttp = parseEnvelope(HTTP.structured(event).body as string);
      const viaToJson = parseEnvelope(event.toJSON());
      const viaString = parseEnvelope(event.toString());

      expect(viaHttp).toEqual(expected);
      expect(viaToJson).toEqual(expected);
      expect(viaString).toEqual(expected);
      expect(contentDigest(viaHttp)).toBe(contentDigest(expected));
    },
  );

  it('given an SDK event without datacontenttype, then parseEnvelope names datacontenttype', () => {
    const base = createEnvelope(fullInput('state'));
    const { datacontenttype: _dropped, ...rest } = base;
    const event = new CloudEvent<unknown>({ ...rest });
    expect(() => parseEnvelope(HTTP.structured(event).body)).toThrow(
      /datacontenttype: expected the string "application\/json", got nothing/,
    );
  });
});

describe('Round trip through the SDK', () => {
  it('given envelopes createEnvelope builds from Date times, when they pass through SDK read and write, then they come back equal with the same digest', () => {
    fc.assert(
      // HTTP.toEvent drops falsy data (0, "", false, null): `if (property)` in the SDK's
      // structured parser. Not ours to fix; the data here is truthy.
      fc.property(envelopeInput({ data: wireJson().filter(Boolean) }), (input) => {
        const envelope = createEnvelope(input);
        const back = parseEnvelope(HTTP.structured(new CloudEvent(sdkRead(JSON.stringify(envelope)))).body);
        expect(back).toEqual(envelope);
        expect(contentDigest(back)).toBe(contentDigest(envelope));
      }),
      { numRuns: 200 },
    );
  });

  it('given a time written with a zone offset, when it passes through the SDK, then it comes back as the same instant in UTC text (so its digest changes)', () => {
    // The SDK rewrites `time` with Date#toISOString on read (DateParser) and on write (toJSON).
    // Extensions such as effectivetime are kept as text.
    const envelope = createEnvelope({
      ...fullInput('state'),
      time: '2026-01-31T13:00:00.123456+01:00',
    });
    const back = parseEnvelope(HTTP.structured(new CloudEvent(sdkRead(JSON.stringify(envelope)))).body);
    expect(back.time).toBe('2026-01-31T12:00:00.123Z');
    expect(back.effectivetime).toBe(envelope.effectivetime);
    expect({ ...back, time: envelope.time }).toEqual(envelope);
    expect(contentDigest(back)).not.toBe(contentDigest(envelope));
  });
});

describe('What the SDK rejects, Tidemark rejects too', () => {
  // Each of these once passed validateEnvelope but made `new CloudEvent(...)` throw, so a
  // Tidemark relay could hand CloudEvents consumers events they refuse.
  const base = () =>
    JSON.parse(JSON.stringify(createEnvelope(fullInput('state')))) as Record<string, unknown>;
  it.each([
    ['a day the month does not have', { time: '2026-02-30T12:00:00Z' }, 'time'],
    ['31 April', { time: '2026-04-31T12:00:00Z' }, 'time'],
    ['hour 24', { time: '2026-01-31T24:00:00Z' }, 'time'],
    ['a source with a space', { source: '/contexts/customer profile' }, 'source'],
    ['a source with a broken percent escape', { source: '/contexts/%zz' }, 'source'],
    ['a non-integer extension value', { priority: 1.5 }, 'priority'],
    ['a dataschema that is not a URI', { dataschema: 'customer v2' }, 'dataschema'],
    ['a dataschema that is a number', { dataschema: 5 }, 'dataschema'],
  ] as const)('given %s, then both reject it', (_what, patch, attribute) => {
    const input = { ...base(), ...patch };
    expect(() => new CloudEvent<unknown>(input as CloudEventV1<unknown>)).toThrow();
    expect(validateEnvelope(input).map((i) => i.attribute)).toContain(attribute);
  });
});
