import { Option, type Command } from 'commander';
import { checkHistory } from '../../schema/compatibility.js';
import { loadSchemasFromDirectory } from '../../schema/directory.js';
import { compatibilityModes, type BreakingChange, type CompatibilityMode } from '../../schema/types.js';

interface CheckOptions {
  dir: string;
  mode: CompatibilityMode;
  json?: boolean;
}

interface TypeReport {
  readonly type: string;
  readonly versions: number[];
  readonly compatible: boolean;
  readonly changes: Pick<
    BreakingChange,
    'writerVersion' | 'readerVersion' | 'direction' | 'kind' | 'field' | 'message'
  >[];
}

/**
 * `tidemark schema check`: for producers' CI. Reads `<dir>/<type>/<version>.json` and checks
 * each type's versions under the mode (each against the previous one, or against all earlier
 * ones for a transitive mode). Exit 0 when everything is compatible, 2 with the report when not
 * (or when a schema file is unusable).
 */
export function registerSchema(program: Command): void {
  const schema = program.command('schema').description('Work with the JSON Schemas of event types.');
  schema
    .command('check')
    .description(
      'Check that each event type’s schema versions in a directory (schemas/<type>/<version>.json) are compatible; ' +
        'exit 2 with every breaking change when they are not.',
    )
    .option(
      '--dir <dir>',
      'directory with one folder per event type and one <version>.json per version',
      'schemas',
    )
    .addOption(
      new Option('--mode <mode>', 'compatibility mode to check')
        .choices(compatibilityModes)
        .default('BACKWARD'),
    )
    .option('--json', 'print one JSON object instead of text')
    .action(async (options: CheckOptions) => {
      const schemas = await loadSchemasFromDirectory(options.dir);
      const types: TypeReport[] = schemas.types().map((type) => {
        const versions = schemas.versions(type);
        const changes = checkHistory(
          type,
          versions.map((version) => ({ version, schema: schemas.get(type, version)!.schema })),
          options.mode,
        );
        return {
          type,
          versions,
          compatible: changes.length === 0,
          changes: changes.map(({ writerVersion, readerVersion, direction, kind, field, message }) => ({
            writerVersion,
            readerVersion,
            direction,
            kind,
            field,
            message,
          })),
        };
      });
      const compatible = types.every((t) => t.compatible);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ dir: options.dir, mode: options.mode, compatible, types })}\n`,
        );
      } else {
        process.stdout.write(`${report(options, types, compatible)}\n`);
      }
      process.exitCode = compatible ? 0 : 2;
    });
}

function report(options: CheckOptions, types: readonly TypeReport[], compatible: boolean): string {
  if (types.length === 0) {
    return `No schemas in ${options.dir} (expected ${options.dir}/<event type>/<version>.json); nothing to check.`;
  }
  const lines = [
    `Checked ${types.length} event type${types.length === 1 ? '' : 's'} in ${options.dir} (mode ${options.mode}):`,
  ];
  for (const t of types) {
    const versions = t.versions.map((v) => `v${v}`).join(', ');
    if (t.compatible) {
      lines.push(`  ok    ${t.type} (${versions})`);
      continue;
    }
    lines.push(
      `  BREAK ${t.type} (${versions}): ${t.changes.length} breaking change${t.changes.length === 1 ? '' : 's'}`,
    );
    for (const c of t.changes) {
      lines.push(`        [v${c.writerVersion} data, v${c.readerVersion} readers] ${c.message}`);
    }
  }
  lines.push(
    compatible
      ? 'All schema versions are compatible.'
      : `Not ${options.mode} compatible. Make each change compatible (e.g. add fields as optional), ` +
          'or publish the change as a new event type.',
  );
  return lines.join('\n');
}
