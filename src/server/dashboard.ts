import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/**
 * Where the built dashboard is: next to the compiled server in the package (dist/dashboard/app),
 * or, when running from the sources, in dist/ after `npm run build`.
 */
export function defaultDashboardDir(): string {
  const shipped = fileURLToPath(new URL('../dashboard/app/', import.meta.url));
  if (existsSync(`${shipped}index.html`)) return shipped;
  return fileURLToPath(new URL('../../dist/dashboard/app/', import.meta.url));
}

/** Serves the dashboard's static files at `/` (public: every data call it makes needs a token). */
export async function dashboardRoutes(app: FastifyInstance, dir: string | undefined): Promise<void> {
  const root = dir ?? defaultDashboardDir();
  if (!existsSync(`${root.replace(/\/$/, '')}/index.html`)) {
    app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built; run "npm run build" (the API works without it).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: 'index.html',
    wildcard: false,
    decorateReply: false,
  });
}
