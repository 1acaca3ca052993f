import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';

/** A fresh temporary schema directory with `files` (`'<type>/<version>.json'` → content). */
export async function schemaDirectory(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-schemas-'));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(
      join(dir, file),
      typeof content === 'string' ? content : JSON.stringify(content, null, 2),
    );
  }
  return dir;
}

export const addressV1 = {
  type: 'object',
  properties: {
    customerId: { type: 'string' },
    address: {
      type: 'object',
      properties: {
        street: { type: 'string', maxLength: 80 },
        postcode: { type: 'string', pattern: '^[0-9]{5}$' },
      },
      required: ['street'],
    },
  },
  required: ['customerId', 'address'],
};

export function addressChanged(data: unknown, schemaVersion = 1, id = 'evt-1'): Envelope {
  return createEnvelope({
    kind: 'domain',
    type: 'customer.AddressChanged',
    authority: 'customer-profile',
    entityType: 'customer',
    entityId: 'c-1',
    entityVersion: 1,
    id,
    data,
    schemaVersion,
  });
}
