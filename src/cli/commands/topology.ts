import type { Command } from 'commander';
import {
  readTopologyFile,
  TopologyInvalidError,
  type Topology,
  type TopologyError,
} from '../../topology/index.js';
import { redactUrl } from '../../backbone/shared/options.js';
import { createSchemaCompiler } from '../../schema/compile.js';
import { loadSchemasFromDirectory } from '../../schema/directory.js';
import { piiKeyword } from '../../schema/pii.js';

interface Summary {
  readonly contexts: number;
  readonly entityTypes: number;
  readonly flows: number;
  readonly decisions: number;
  readonly calendars: number;
  readonly conditions: number;
  readonly reconciliation: number;
}

function summarise(topology: Topology): Summary {
  return {
    contexts: topology.contexts.length,
    entityTypes: topology.entityTypes.length,
    flows: topology.flows.length,
    decisions: topology.decisions.length,
    calendars: topology.calendars.length,
    conditions: topology.conditions.length,
    reconciliation: topology.reconciliation.length,
  };
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describe(file: string, topology: Topology): string {
  const strategies = new Map<string, number>();
  for (const flow of topology.flows) strategies.set(flow.strategy, (strategies.get(flow.strategy) ?? 0) + 1);
  const byStrategy = [...strategies].map(([s, n]) => `${s} ${n}`).join(', ');
  return [
    `${file} is valid.`,
    `  ${count(topology.contexts.length, 'context')}: ${topology.contexts.map((c) => c.name).join(', ')}`,
    `  ${count(topology.entityTypes.length, 'entity type')}: ${topology.entityTypes
      .map((t) => `${t.name} (authority ${t.authority})`)
      .join(', ')}`,
    `  ${count(topology.flows.length, 'flow')}${byStrategy ? ` (${byStrategy})` : ''}`,
    `  ${count(topology.decisions.length, 'decision')}, ${count(topology.reconciliation.length, 'reconciliation schedule')}`,
    `  backbone: ${topology.backbone.kind} '${topology.backbone.name}'${
      topology.backbone.url === undefined ? '' : ` at ${redactUrl(topology.backbone.url)}`
    }`,
  ].join('\n');
}

export function registerTopology(program: Command): void {
  const topology = program.command('topology').description('work with the topology file (tidemark.yaml)');
  topology
    .command('check')
    .description('validate the topology file; exit code 2 and every error (file:line:column) if invalid')
    .option('--file <path>', 'the topology file', 'tidemark.yaml')
    .option('--json', 'print { valid, errors, summary }')
    .option(
      '--schemas <dir>',
      'also check each flow’s fields against the event schemas in <dir> (<type>/<version>.json): unknown fields, PII without opt-in',
    )
    .action(async (opts: { file: string; json?: boolean; schemas?: string }) => {
      // x-pii is declared so that tagged schemas load; the tags are what the check reads.
      const schemas = opts.schemas
        ? await loadSchemasFromDirectory(opts.schemas, {
            compiler: createSchemaCompiler({ keywords: [piiKeyword] }),
          })
        : undefined;
      const result = await readTopologyFile(opts.file, schemas ? { schemas } : {});
      if (opts.json) {
        const errors: readonly TopologyError[] = result.errors;
        const summary = result.valid ? summarise(result.topology) : null;
        process.stdout.write(`${JSON.stringify({ valid: result.valid, errors, summary })}\n`);
        if (!result.valid) process.exitCode = 2;
        return;
      }
      if (!result.valid) throw new TopologyInvalidError(opts.file, result.errors);
      process.stdout.write(`${describe(opts.file, result.topology)}\n`);
    });
}
