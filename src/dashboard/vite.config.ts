import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Builds the dashboard into dist/dashboard/app, next to the compiled server that serves it. */
export default defineConfig({
  root: fileURLToPath(new URL('./ui/', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard/app/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
