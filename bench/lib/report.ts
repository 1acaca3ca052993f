/**
 * What every sub-benchmark hands back: raw figures for `--json`, a table for people,
 * and its targets checked. Rendering lives here so all benchmarks print alike.
 */
export interface TableRow {
  readonly label: string;
  /** One cell per column of the table (per database). */
  readonly cells: readonly string[];
}

export interface TableSection {
  readonly title: string;
  readonly rows: readonly TableRow[];
}

export interface Table {
  readonly columns: readonly string[];
  readonly sections: readonly TableSection[];
}

export interface TargetCheck {
  readonly name: string;
  /** Where it was measured (a column of the table). */
  readonly on: string;
  /** Human-readable, e.g. "≤ 10 %". */
  readonly target: string;
  readonly value: string;
  readonly met: boolean;
}

export interface BenchReport {
  readonly name: string;
  readonly title: string;
  readonly figures: unknown;
  readonly table: Table;
  readonly targets: readonly TargetCheck[];
  /** How the figures were obtained, printed under the table and written to RESULTS.md. */
  readonly method: readonly string[];
}

export function renderText(table: Table): string {
  const labelWidth = Math.max(
    ...table.sections.flatMap((s) => [s.title.length, ...s.rows.map((r) => r.label.length + 2)]),
  );
  const widths = table.columns.map((c, i) =>
    Math.max(c.length, ...table.sections.flatMap((s) => s.rows.map((r) => (r.cells[i] ?? '').length))),
  );
  const line = (label: string, cells: readonly string[]) =>
    [label.padEnd(labelWidth), ...cells.map((c, i) => c.padStart(widths[i]!))].join('  ').trimEnd();
  const out = [line('', table.columns)];
  for (const section of table.sections) {
    out.push(section.title);
    for (const row of section.rows) out.push(line(`  ${row.label}`, row.cells));
  }
  return out.join('\n');
}

export function renderMarkdown(table: Table): string {
  const out = [`| | ${table.columns.join(' | ')} |`, `|---|${table.columns.map(() => '---:').join('|')}|`];
  for (const section of table.sections) {
    out.push(`| **${section.title}** |${table.columns.map(() => '').join(' |')} |`);
    for (const row of section.rows) out.push(`| ${row.label} | ${row.cells.join(' | ')} |`);
  }
  return out.join('\n');
}

export function renderTargets(targets: readonly TargetCheck[]): string[] {
  return targets.map(
    (t) => `${t.met ? 'met   ' : 'MISSED'}  ${t.name} on ${t.on}: ${t.value} (target ${t.target})`,
  );
}
