import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { machineLine, type Machine } from './machine.js';
import { noiseLine, type Noise } from './noise.js';
import { renderMarkdown, renderTargets, type BenchReport } from './report.js';

const header = `# Benchmark results

Each section below is rewritten by \`npm run bench -- <name> --write\`; text outside the
\`<!-- bench:… -->\` markers (analysis, notes) is kept as it is.
`;

export interface RunInfo {
  readonly date: Date;
  readonly command: string;
  readonly seconds: number;
  readonly revision: string;
  readonly machine: Machine;
  readonly noise: Noise;
  readonly databases: readonly string[];
}

function section(report: BenchReport, run: RunInfo): string {
  return [
    `## ${report.name}: ${report.title}`,
    '',
    `- Date: ${run.date.toISOString().slice(0, 16).replace('T', ' ')} UTC; \`${run.command}\`, took ${run.seconds.toFixed(0)} s.`,
    `- Code: ${run.revision}.`,
    `- Machine: ${machineLine(run.machine)}.`,
    `- Databases: ${run.databases.join('; ')}.`,
    `- Other activity: ${noiseLine(run.noise)}.`,
    '',
    renderMarkdown(report.table),
    '',
    'Targets:',
    '',
    ...renderTargets(report.targets).map((t) => `- ${t}`),
    '',
    'How it is measured:',
    '',
    ...report.method.map((m) => `- ${m}`),
  ].join('\n');
}

/** Replaces this benchmark's marked section of `path`, or appends it; other text stays. */
export function writeResults(path: string, report: BenchReport, run: RunInfo): void {
  const begin = `<!-- bench:${report.name}:begin -->`;
  const end = `<!-- bench:${report.name}:end -->`;
  const block = `${begin}\n${section(report, run)}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : header;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + block + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
