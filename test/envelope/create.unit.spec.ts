import { describe, expect, it } from 'vitest';
import {
  createEnvelope,
  defaultPartitionKey,
  eventKinds,
  sourceOf,
  validateEnvelope,
  type EnvelopeInput,
  type EventKind,
} from '../../src/envelope/index.js';
import { isTidemarkError } from '../../src/errors.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function input(kind: EventKind, extra: Partial<EnvelopeInput> = {}): EnvelopeInput {
  return {
    kind,
    authority: 'customer-profile',
    entityType: 'customer',
    entityId: 'c-42',
    entityVersion: 7,
    ...(kind === 'domain' ? { type: 'customer.AddressChanged' } : {}),
    ...(kind === 'tombstone' ? {} : { data: { city: 'Leeds' } }),
    ...extra,
  };
}

describe('createEnvelope', () => {
  it.each(eventKinds)(
    'given a %s event with only the required inputs, then it builds a valid CloudEvents 1.0 envelope',
    (kind) => {
      const envelope = createEnvelope(input(kind));
      expect(validateEnvelope(envelope)).toEqual([]);
      expect(envelope).toMatchObject({
        specversion: '1.0',
        datacontenttype: 'application/json',
        eventkind: kind,
        entitytype: 'customer',
        entityid: 'c-42',
        entityversion: 7,
        authority: 'customer-profile',
      });
      expect(envelope.id).toMatch(uuid);
      expect(Number.isNaN(Date.parse(envelope.time))).toBe(false);
    },
  );

  it.each([
    ['state', 'customer.state'],
    ['notice', 'customer.notice'],
    ['tombstone', 'customer.deleted'],
  ] as const)('given a %s event without a type, then the type defaults to %s', (kind, type) => {
    expect(createEnvelope(input(kind)).type).toBe(type);
  });

  it('given a domain event with a type, then that type is kept', () => {
    expect(createEnvelope(input('domain')).type).toBe('customer.AddressChanged');
  });

  it('given a domain event without a type, then it throws TM_ENVELOPE_INVALID naming type', () => {
    const { type: _omitted, ...withoutType } = input('domain');
    let error: unknown;
    try {
      createEnvelope(withoutType);
    } catch (e) {
      error = e;
    }
    expect(isTidemarkError(error, 'TM_ENVELOPE_INVALID')).toBe(true);
    expect((error as Error).message).toContain('type: expected a non-empty string');
  });

  it('given no partition key, then it defaults to <entityType>/<entityId>', () => {
    const envelope = createEnvelope(input('state'));
    expect(envelope.partitionkey).toBe('customer/c-42');
    expect(defaultPartitionKey('customer', 'c-42')).toBe('customer/c-42');
  });

  it('given a partition key, then it is used as given', () => {
    expect(createEnvelope(input('state', { partitionKey: 'household/h-1' })).partitionkey).toBe(
      'household/h-1',
    );
  });

  it('given an authority, then source is /contexts/<authority>, percent-encoded', () => {
    expect(createEnvelope(input('state')).source).toBe('/contexts/customer-profile');
    expect(sourceOf('Kundenprofil Süd/ost')).toBe('/contexts/Kundenprofil%20S%C3%BCd%2Fost');
    const envelope = createEnvelope(input('notice', { authority: 'Kundenprofil Süd/ost' }));
    expect(envelope.source).toBe('/contexts/Kundenprofil%20S%C3%BCd%2Fost');
    expect(envelope.authority).toBe('Kundenprofil Süd/ost');
  });

  it('given an entity id, then subject repeats it', () => {
    expect(createEnvelope(input('tombstone')).subject).toBe('c-42');
  });

  it('given Date values for time and effective time, then both are written as RFC 3339 UTC text', () => {
    const envelope = createEnvelope(
      input('state', {
        time: new Date(Date.UTC(2026, 0, 31, 12, 0, 0, 250)),
        effectiveTime: new Date(Date.UTC(2026, 1, 1)),
      }),
    );
    expect(envelope.time).toBe('2026-01-31T12:00:00.250Z');
    expect(envelope.effectivetime).toBe('2026-02-01T00:00:00.000Z');
  });

  it('given every optional input, then each lands in its extension attribute', () => {
    const envelope = createEnvelope(
      input('domain', {
        id: 'evt-1',
        time: '2026-01-31T12:00:00+01:00',
        correlationId: 'corr-1',
        causationId: 'evt-0',
        effectiveTime: '2026-02-01T00:00:00Z',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        schemaVersion: 2,
      }),
    );
    expect(envelope).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      source: '/contexts/customer-profile',
      type: 'customer.AddressChanged',
      time: '2026-01-31T12:00:00+01:00',
      datacontenttype: 'application/json',
      subject: 'c-42',
      data: { city: 'Leeds' },
      eventkind: 'domain',
      entitytype: 'customer',
      entityid: 'c-42',
      entityversion: 7,
      partitionkey: 'customer/c-42',
      authority: 'customer-profile',
      correlationid: 'corr-1',
      causationid: 'evt-0',
      effectivetime: '2026-02-01T00:00:00Z',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      schemaversion: 2,
    });
  });

  it('given no optional inputs, then no optional attribute is present (not even as undefined)', () => {
    const envelope = createEnvelope(input('tombstone'));
    for (const attribute of [
      'data',
      'correlationid',
      'causationid',
      'effectivetime',
      'traceparent',
      'schemaversion',
    ]) {
      expect(Object.hasOwn(envelope, attribute), attribute).toBe(false);
    }
  });

  it('given two envelopes built without ids, then their ids differ', () => {
    expect(createEnvelope(input('state')).id).not.toBe(createEnvelope(input('state')).id);
  });

  it('given invalid input, then it throws TM_ENVELOPE_INVALID naming the attribute', () => {
    expect(() => createEnvelope(input('state', { entityVersion: 0 }))).toThrow(/entityversion: expected/);
    expect(() => createEnvelope(input('tombstone', { data: { city: 'Leeds' } }))).toThrow(
      /data: expected no data on a tombstone/,
    );
  });

  it('given an authority with a lone surrogate, then it throws TM_ENVELOPE_INVALID naming authority, not a URIError', () => {
    // Regression: encodeURIComponent threw "URI malformed" from inside createEnvelope.
    let error: unknown;
    try {
      createEnvelope(input('state', { authority: 'profile\uD800' }));
    } catch (e) {
      error = e;
    }
    expect(isTidemarkError(error, 'TM_ENVELOPE_INVALID')).toBe(true);
    expect((error as Error).message).toContain('authority: expected well-formed Unicode text');
  });
});
