import Fastify from 'fastify';
import { authorityReadApi } from '../pull/read-api.js';
import type { EntityReader } from '../pull/wire.js';

/** Customer Profile's read API on a free port of 127.0.0.1, for Communications to fetch from. */
export async function startReadApi(
  readers: Record<string, EntityReader>,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  await app.register(authorityReadApi, { readers });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { baseUrl: address, close: () => app.close() };
}
