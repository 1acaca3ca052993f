import { createEnvelope, type Envelope, type EventKind } from '../../src/envelope/index.js';

/** Versions 1..n of one customer, each carrying `{ value: "<id>@<version>" }`. */
export function history(entityId: string, kind: EventKind, versions: number): Envelope[] {
  return Array.from({ length: versions }, (_, i) =>
    createEnvelope({
      kind,
      type: kind === 'domain' ? 'Changed' : undefined,
      authority: 'profile',
      entityType: 'customer',
      entityId,
      entityVersion: i + 1,
      data: { value: `${entityId}@${i + 1}` },
    }),
  );
}
