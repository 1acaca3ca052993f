import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TidemarkError } from '../../errors.js';
import { parseTopology, starterTopology } from '../../topology/index.js';

/** What the starter declares, counted from the starter itself. */
function starterSummary(): string {
  const result = parseTopology(starterTopology);
  if (!result.valid) return 'the insurer estate';
  const { contexts, flows, decisions } = result.topology;
  return `the insurer estate (${contexts.length} contexts, ${flows.length} flows, ${decisions.length} decisions)`;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented starter topology file (the insurer demo estate) to edit')
    .option('--file <path>', 'where to write it', 'tidemark.yaml')
    .option('--force', 'overwrite the file if it exists')
    .option('--json', 'print JSON')
    .action(async (opts: { file: string; force?: boolean; json?: boolean }) => {
      const fileOption = opts.file === 'tidemark.yaml' ? '' : ` --file ${opts.file}`;
      try {
        // 'wx' fails if the file exists, with no window between a check and the write.
        await writeFile(opts.file, starterTopology, { encoding: 'utf8', flag: opts.force ? 'w' : 'wx' });
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          throw new TidemarkError(
            'TM_TOPOLOGY_EXISTS',
            `${opts.file} already exists and was left unchanged; run \`tidemark init --force${fileOption}\` ` +
              'to replace it with the starter, or `tidemark init --file <other path>` to write the starter elsewhere',
            { cause, context: { file: opts.file } },
          );
        }
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          throw new TidemarkError(
            'TM_INVALID_ARGUMENT',
            `cannot write ${opts.file}: its directory does not exist; create it first or choose another --file`,
            { cause, context: { file: opts.file } },
          );
        }
        throw cause;
      }
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ file: opts.file, written: true })}\n`
          : `Wrote ${opts.file}: ${starterSummary()}. ` +
              `Edit it, then run \`tidemark topology check${fileOption}\`.\n`,
      );
    });
}
