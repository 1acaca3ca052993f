import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { progress } from '../lib/log.js';

/**
 * The peer systems live in bench/peers, a private package with its own lock file: emmett 0.42
 * wants commander 12 (Tidemark uses 14) and pg-boss 11+ wants Node 22. They are installed on
 * first use and loaded through that package's own resolution, so Tidemark's dependency tree
 * and its type check never see them.
 */
const peersDir = fileURLToPath(new URL('../peers/', import.meta.url));

let installed: Promise<string | undefined> | undefined;

/** Installs the peers once per process; resolves to why they are unavailable, or undefined. */
export function ensurePeers(): Promise<string | undefined> {
  installed ??= (async () => {
    if (existsSync(`${peersDir}node_modules/.package-lock.json`)) return undefined;
    progress('installing the peer systems: npm ci --prefix bench/peers');
    const result = spawnSync('npm', ['ci', '--prefix', peersDir, '--no-audit', '--no-fund'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
    if (result.status === 0) return undefined;
    return `npm ci --prefix bench/peers failed (${result.error?.message ?? `exit ${result.status}`})`;
  })();
  return installed;
}

/** Loads a peer's CommonJS build (its named exports are all on module.exports there). */
export function loadPeer<T>(name: string): T {
  return createRequire(`${peersDir}package.json`)(name) as T;
}
