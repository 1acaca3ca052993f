/** fast-check generators shared by the envelope property tests. */
import fc from 'fast-check';
import { eventKinds, type EnvelopeInput } from '../../src/envelope/index.js';

/** Non-empty text over all of Unicode (lone surrogates excluded: they are not valid text). */
export const text = (maxLength = 24): fc.Arbitrary<string> =>
  // Any code point except U+0000, which no PostgreSQL text or jsonb can hold (refused with its own issue).
  fc.string({ unit: 'binary', minLength: 1, maxLength }).map((s) => s.replaceAll('\u0000', '\u0001'));

/** A JSON value as it looks after a trip through JSON text (so no -0), with Unicode strings. */
export const wireJson = (maxDepth = 3): fc.Arbitrary<unknown> =>
  fc
    .json({ maxDepth, stringUnit: 'binary' })
    .map((json) => JSON.parse(json.replaceAll('\\u0000', '\\u0001')) as unknown);

/** Instants whose ISO text has the four-digit year RFC 3339 requires. */
export const instant = (): fc.Arbitrary<Date> =>
  fc.date({
    min: new Date('0000-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  });

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * RFC 3339 date-time text with every field in range: any fraction length, `Z`/`z` or a
 * `±hh:mm` offset, `T` or `t`. Valid text, though not always the form `Date#toISOString` writes.
 */
export const rfc3339Text = (): fc.Arbitrary<string> =>
  fc
    .record({
      at: instant(),
      fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
      offset: fc.oneof(
        fc.constantFrom('Z', 'z'),
        fc
          .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
          .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
      ),
      separator: fc.constantFrom('T', 't'),
    })
    .map(({ at, fraction, offset, separator }) => {
      const date = `${pad(at.getUTCFullYear(), 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
      const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
      return `${date}${separator}${time}${fraction === undefined ? '' : `.${fraction}`}${offset}`;
    });

export const traceparent = (): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.stringMatching(/^[0-9a-f]{32}$/),
      fc.stringMatching(/^[0-9a-f]{16}$/),
      fc.constantFrom('00', '01'),
    )
    .map(([trace, span, flags]) => `00-${trace}-${span}-${flags}`);

export interface InputOptions {
  /** Also give times as RFC 3339 text (offsets, fractions), not only as Dates. */
  readonly textTimes?: boolean;
  /** Data to use for kinds that carry data. */
  readonly data?: fc.Arbitrary<unknown>;
}

/** Valid inputs for createEnvelope: every kind, every optional input present or absent. */
export function envelopeInput(options: InputOptions = {}): fc.Arbitrary<EnvelopeInput> {
  const time: fc.Arbitrary<Date | string> = options.textTimes
    ? fc.oneof(instant(), rfc3339Text())
    : instant();
  const version = fc.integer({ min: 1, max: 2_147_483_647 });
  return fc
    .record(
      {
        kind: fc.constantFrom(...eventKinds),
        type: text(),
        authority: text(),
        entityType: text(),
        entityId: text(),
        entityVersion: version,
        data: options.data ?? wireJson(),
        id: text(40),
        time,
        partitionKey: text(),
        correlationId: text(),
        causationId: text(),
        effectiveTime: time,
        traceparent: traceparent(),
        schemaVersion: version,
      },
      { requiredKeys: ['kind', 'authority', 'entityType', 'entityId', 'entityVersion'] },
    )
    .map((input): EnvelopeInput => {
      if (input.kind === 'tombstone') {
        const { data: _none, ...rest } = input;
        return rest;
      }
      if (input.kind === 'domain' && input.type === undefined) return { ...input, type: 'entity.Happened' };
      return input;
    });
}
