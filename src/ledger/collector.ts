import type { Backbone } from '../backbone/backbone.js';
import { createConsumer } from '../consumer/consumer.js';
import type { Consumer, Logger } from '../consumer/types.js';
import { TidemarkError } from '../errors.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { recordStages } from './record.js';
import { stageReportType, type StageReport } from './sink.js';
import { authorityLedgerStages, isLedgerStage, type StageRecord } from './stages.js';

export interface LedgerCollectorOptions {
  /** The authority's database and schema, whose ledger the reports go into. */
  readonly db: Db;
  readonly schema?: string;
  /** The backbone the reporting contexts' relays publish their stage reports to. */
  readonly backbone: Backbone;
  /** Consumer-group name (default `ledger`); one collector per source backbone needs its own. */
  readonly name?: string;
  readonly logger?: Logger;
}

const authorityOnly = new Set<string>(authorityLedgerStages);

/**
 * A report may only speak for the context that sent it, and only of consumer stages: a
 * context cannot claim that the authority published something, nor report for a neighbour.
 */
function checkReport(reporter: string, records: readonly StageRecord[]): void {
  for (const record of records) {
    const problem =
      record.context !== reporter
        ? `it reports for '${record.context}' but was sent by '${reporter}'`
        : !isLedgerStage(record.stage)
          ? `'${String(record.stage)}' is not a ledger stage`
          : authorityOnly.has(record.stage)
            ? `'${record.stage}' is recorded by the authority itself, not reported`
            : undefined;
    if (problem) {
      throw new TidemarkError('TM_ENVELOPE_INVALID', `stage report refused: ${problem}`, {
        retryable: false,
        context: { reporter, stage: record.stage, context: record.context },
      });
    }
  }
}

/**
 * The authority's side of the ledger's own propagation: a Tidemark consumer of stage reports
 * that records them in the authority's ledger, with the inbox making each report count once.
 */
export function createLedgerCollector(options: LedgerCollectorOptions): Consumer {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  return createConsumer({
    name: options.name ?? 'ledger',
    db: options.db,
    schema,
    backbone: options.backbone,
    ledger: false,
    ...(options.logger ? { logger: options.logger } : {}),
    handlers: {
      [stageReportType]: {
        kinds: ['domain'],
        async apply(tx, event) {
          const records = (event.data as StageReport | undefined)?.records ?? [];
          checkReport(event.authority, records);
          await recordStages(tx, s, records);
        },
      },
    },
  });
}
