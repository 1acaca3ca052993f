import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

const git = (...args: string[]): string =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

/**
 * The code that was measured: the commit, and whether `src/` differed from it. Figures
 * without it cannot be compared with a later run.
 */
export function sourceRevision(): string {
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--', 'src') ? `${commit} + uncommitted changes in src/` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
