import type { DemoReport } from './run.js';

const pad = (value: string | number, width: number) => String(value).padEnd(width);

/** The demo's report in plain words, for a person at a terminal. */
export function formatDemoReport(report: DemoReport, seed: number): string {
  const lines: string[] = [];
  const where =
    report.mode === 'embedded'
      ? `embedded (PGlite + ${report.backbone} backbone)`
      : `distributed (server PostgreSQL + ${report.backbone})`;
  lines.push(`Tidemark demo: insurer estate, ${where}, seed ${seed}`);
  lines.push('');
  lines.push(
    `Customer Profile accepted ${report.changes} changes for ${report.customers} customers ` +
      `(${report.events} events in its outbox).`,
  );
  const f = report.faults;
  lines.push(
    `Injected faults: ${f.duplicated} duplicate deliveries, ${f.reordered} keys delivered in reverse order, ` +
      `${f.crashedBeforeAck} batches whose acknowledgement was lost (so they were delivered again).`,
  );
  lines.push('');
  lines.push(
    `  ${pad('context', 16)}${pad('strategy', 13)}${pad('applied', 9)}${pad('duplicates', 12)}` +
      `${pad('held', 6)}${pad('rejected', 10)}lag p50 / p99 / max`,
  );
  for (const [name, c] of Object.entries(report.contexts)) {
    lines.push(
      `  ${pad(name, 16)}${pad(c.strategy, 13)}${pad(c.applied, 9)}${pad(c.duplicatesSkipped, 12)}` +
        `${pad(c.heldForOrder, 6)}${pad(c.rejected, 10)}${c.p50LagMs} / ${c.p99LagMs} / ${c.maxLagMs} ms`,
    );
  }
  lines.push('');
  lines.push(
    '  duplicates: deliveries recognised by the inbox and skipped; held: domain events that arrived',
    '  before an earlier version and waited for it, so effects still happened in order.',
  );
  lines.push('');
  const r = report.reconciliation;
  const drifted = [
    ...(r.drift.deleted ? [`the account of ${r.drift.deleted} was deleted`] : []),
    ...(r.drift.altered ? [`the address of ${r.drift.altered} overwritten`] : []),
  ];
  if (drifted.length > 0) {
    const found = Object.entries(r.found)
      .map(([cls, n]) => `${n} ${cls}`)
      .join(', ');
    lines.push(
      `Drift: in Billing's table, behind the runtime's back, ${drifted.join(' and ')}; ` +
        `the convergence check found ${r.detectedByCheck} account${r.detectedByCheck === 1 ? '' : 's'} different.`,
      `Reconciliation of ${r.flow}: compared digests (${r.rowsRead} rows read, ${r.bucketsDiffering} of 4,096 ` +
        `buckets differed), found ${found}; repaired ${r.repaired} through Billing's consumer` +
        `${r.unrepaired ? `, ${r.unrepaired} left for a person` : ''}, marked ${r.reconciled} versions reconciled ` +
        `in ${r.durationMs} ms. A second run found ${r.foundAfterRepair === 0 ? 'nothing' : r.foundAfterRepair}.`,
      '',
    );
  }
  const legacy = report.legacy;
  if (legacy) {
    const applied = Object.entries(legacy.applied)
      .map(([type, n]) => `${n} ${type}`)
      .join(', ');
    lines.push(
      `Legacy policy admin, captured by CDC from ${legacy.table} (slot ${legacy.slot}): the snapshot read ` +
        `${legacy.snapshotRows} policies, then ${legacy.streamedWrites} legacy writes streamed. The translator ` +
        `filtered out ${legacy.filtered} change${legacy.filtered === 1 ? '' : 's'} that meant nothing to the new ` +
        `estate and rejected ${legacy.rejected.length} to the dead letters.`,
      ...legacy.rejected.map((reason) => `  rejected: ${reason}`),
      `Policy applied ${applied || 'nothing'}; its copy means what the legacy table says for ` +
        `${legacy.matching}/${legacy.total} policies. Replication slot ${legacy.slotDropped ? 'dropped' : 'NOT dropped'}.`,
      '',
    );
  }
  const copies = Object.entries(report.contexts)
    .map(([name, c]) => `${name} ${c.matching}/${c.total}`)
    .join(', ');
  if (report.converged) {
    lines.push(`Converged: yes. Every copy equals the authority (${copies}).`);
  } else {
    lines.push(`Converged: NO. Copies that equal the authority: ${copies}.`);
    for (const [name, c] of Object.entries(report.contexts)) {
      for (const d of c.differences) {
        lines.push(
          `  ${name} differs on ${d.id}: authority ${JSON.stringify(d.authority)}, copy ${JSON.stringify(d.replica)}`,
        );
      }
    }
  }
  const e = report.example;
  if (e) {
    lines.push(
      `Example: ${e.customer} is at version ${e.version} ("${e.address}"); billing holds version ${e.billingVersion}; ` +
        `communications fetched version ${e.communicationsVersion} from Customer Profile after a notice.`,
    );
  }
  if (report.story.length > 0) {
    lines.push(
      '',
      'One change followed through the estate (what `tidemark status customer/cust-story` said):',
    );
    report.story.forEach((step, i) => {
      lines.push(`  ${i + 1}. ${step.title}.`, `     ${step.summary}`);
    });
  }
  if (report.readiness.length > 0) {
    lines.push('', 'Decisions about that change:');
    for (const r of report.readiness)
      lines.push(`  ${r.ready ? 'ready    ' : 'not ready'}  ${r.explanation}`);
  }
  lines.push('', `Took ${(report.durationMs / 1000).toFixed(1)} s.`);
  return lines.join('\n');
}
