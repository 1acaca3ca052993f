import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Pgoutput } from 'pg-logical-replication';
import { TidemarkError } from '../errors.js';
import type { Producer } from '../producer/producer.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import {
  addSnapshotTables,
  createCheckpoint,
  deleteCaptureState,
  loadCheckpoint,
  loadSnapshotProgress,
  saveCheckpoint,
  saveSnapshotProgress,
  type SnapshotProgress,
} from './checkpoint.js';
import { formatLsn, lsnValue } from './lsn.js';
import type { SourcePrecedence } from './precedence.js';
import { changeKey, firstSeen, writeChanges, type SinkContext } from './sink.js';
import { emitWatermark, keyOf, parseWatermark, readChunk } from './snapshot.js';
import {
  checkSourceReady,
  createSlot,
  describeTables,
  dropSlotAndPublication,
  ensurePublication,
  slotLagBytes,
  slotState,
  type SourceTable,
} from './source.js';
import type { CaptureNotice, Row, RowChange, Translator } from './types.js';

export interface CaptureOptions {
  /** Names the capture's checkpoint, slot and publication (lower-case letters, digits, `_`). */
  readonly name: string;
  /** The legacy PostgreSQL: a role with REPLICATION, `wal_level = logical`. */
  readonly source: { readonly connectionString: string };
  /** One per captured table; the tables captured are exactly these translators' tables. */
  readonly translators: readonly Translator[];
  /** Tidemark's database and the producer whose context owns the translated entity types. */
  readonly sink: { readonly db: Db; readonly schema?: string; readonly producer: Producer };
  /** `initial` (default) reads the tables' current rows once, interleaved with streaming. */
  readonly snapshot?: 'initial' | 'never';
  /** Rows per snapshot chunk (default 1,000). */
  readonly snapshotChunkSize?: number;
  /** Changes per outbox transaction when a source transaction is larger (default 1,000). */
  readonly transactionChunkSize?: number;
  /** Default `tidemark_<name>`. */
  readonly slot?: string;
  /** Default `tidemark_<name>`. */
  readonly publication?: string;
  /** Field precedence while the legacy writer and the new authority coexist. */
  readonly precedence?: SourcePrecedence;
  readonly onNotice?: (notice: CaptureNotice) => void;
}

export interface CaptureStatus {
  readonly name: string;
  readonly slot: string;
  readonly checkpointLsn: string | undefined;
  /** WAL bytes the slot retains on the source (`tidemark_cdc_lag_bytes`); undefined without a slot. */
  readonly lagBytes: number | undefined;
  readonly snapshot: readonly SnapshotProgress[];
  readonly running: boolean;
}

export interface Capture {
  /** Checks the source, sets up publication and slot, and starts streaming (and the snapshot, if due). */
  start(): Promise<void>;
  /** Stops streaming; nothing beyond the durable checkpoint was acknowledged. */
  stop(): Promise<void>;
  /** Resolves when the initial snapshot is complete; rejects if the capture fails first. */
  snapshotDone(): Promise<void>;
  /** Resolves once every source transaction committed before the call is durably in the outbox. */
  catchUp(): Promise<void>;
  /** Rejects when the capture stops on an error (stream lost, sink failed). */
  readonly failure: Promise<never>;
  status(): Promise<CaptureStatus>;
  /**
   * Dangerous: drops slot and publication and forgets checkpoint and snapshot progress. The next
   * start re-seeds with a fresh snapshot. Use after TM_CDC_SLOT_MISSING, or to remove a capture.
   */
  reset(): Promise<void>;
}

interface Window {
  readonly table: string;
  open: boolean;
  truncated: boolean;
  readonly touched: Set<string>;
  rows?: Row[];
  readonly done: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface OpenTransaction {
  readonly commitLsn: string;
  readonly committedAt?: Date;
  readonly skip: boolean;
  changes: RowChange[];
  parts: number;
  total: number;
  readonly progress: { progress: SnapshotProgress; rows: number; window: Window }[];
  readonly syncs: string[];
}

const norm = (lsn: string): string => formatLsn(lsnValue(lsn));

export function createCapture(options: CaptureOptions): Capture {
  const name = options.name;
  quoteIdentifier(name, 'capture name');
  const slot = options.slot ?? `tidemark_${name}`;
  const publication = options.publication ?? `tidemark_${name}`;
  quoteIdentifier(slot, 'replication slot name');
  quoteIdentifier(publication, 'publication name');
  const s = quoteIdentifier(options.sink.schema ?? 'tidemark', 'schema name');
  const db = options.sink.db;
  const snapshotChunk = options.snapshotChunkSize ?? 1000;
  const txChunk = options.transactionChunkSize ?? 1000;
  const notice = options.onNotice ?? (() => {});
  const translators = new Map(options.translators.map((t) => [t.table, t]));
  if (translators.size === 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `capture ${name} has no translators; give one per legacy table`,
    );
  }
  const ctx: SinkContext = {
    capture: name,
    s,
    producer: options.sink.producer,
    translators,
    precedence: options.precedence,
  };

  let control: pg.Client | undefined;
  let service: LogicalReplicationService | undefined;
  let tables = new Map<string, SourceTable>();
  let tablesByRelation = new Map<number, SourceTable>();
  const columnsSeen = new Map<string, string>();
  const windows = new Map<string, Window>();
  /**
   * Keys the stream carried since this run began, per table whose snapshot is not done. The
   * stream's insert/update carries the whole row, so a snapshot copy read later is redundant.
   */
  const streamedKeys = new Map<string, Set<string>>();
  const syncs = new Map<string, Deferred>();
  let checkpoint: string | undefined;
  let current: OpenTransaction | undefined;
  let ackedTo = '0/0';
  let failedWith: Error | undefined;
  let running = false;
  const failure = deferred();
  const failurePromise = failure.promise.then(() => new Promise<never>(() => {}));
  let snapshot = deferred();

  function fail(err: unknown): void {
    if (failedWith) return;
    failedWith = isTidemark(err)
      ? err
      : new TidemarkError(
          'TM_CDC_STREAM_FAILED',
          `capture ${name} stopped: ${(err as Error)?.message ?? String(err)}`,
          {
            cause: err,
            context: { capture: name },
          },
        );
    failure.reject(failedWith);
    snapshot.reject(failedWith);
    for (const w of windows.values()) w.done.reject(failedWith);
    for (const d of syncs.values()) d.reject(failedWith);
    notice({ type: 'stopped', error: failedWith });
    void stopStreaming();
  }

  function isTidemark(err: unknown): err is TidemarkError {
    return err instanceof TidemarkError;
  }

  async function stopStreaming(): Promise<void> {
    running = false;
    const svc = service;
    service = undefined;
    await svc?.destroy().catch(() => {});
  }

  function tableOf(relation: Pgoutput.MessageRelation): SourceTable | undefined {
    const table = tables.get(`${relation.schema}.${relation.name}`);
    if (!table) return undefined;
    tablesByRelation.set(relation.relationOid, table);
    return table;
  }

  function rowChange(
    table: SourceTable,
    op: RowChange['op'],
    lsn: string,
    before: Row | null,
    after: Row | null,
  ): RowChange {
    const source = after ?? before ?? {};
    return {
      op,
      table: table.name,
      key: keyOf(table, source),
      before,
      after,
      lsn: norm(lsn),
      committedAt: current?.committedAt,
    };
  }

  async function flushPart(): Promise<void> {
    const tx = current!;
    const part = tx.changes;
    tx.changes = [];
    // Written before the commit LSN can be checkpointed: the (lsn, table, key) set makes a replay after a crash skip it.
    await db.transaction(async (sql) => writeChanges(sql, ctx, await firstSeen(sql, ctx, part)));
    tx.parts += 1;
  }

  function collect(change: RowChange): void {
    if (change.op !== 'truncate') streamedKeys.get(change.table)?.add(changeKey(change));
    for (const w of windows.values()) {
      if (!w.open || w.table !== change.table) continue;
      if (change.op === 'truncate') w.truncated = true;
      else w.touched.add(changeKey(change));
    }
    current!.changes.push(change);
    current!.total += 1;
  }

  function onWatermark(mark: { kind: string; id: string }): void {
    const tx = current!;
    if (mark.kind === 'sync') {
      tx.syncs.push(mark.id);
      return;
    }
    const w = windows.get(mark.id);
    if (!w) return; // a chunk of an earlier run, abandoned by a crash: it is read again
    if (mark.kind === 'low') {
      w.open = true;
      return;
    }
    const table = tables.get(w.table)!;
    const rows = w.rows ?? [];
    // Rows the stream changed (inside the window, or earlier in this run) reached the outbox from
    // the stream with their whole row, newer than or equal to the chunk's copy: emitting the copy too
    // would apply the same state twice, or an older one after a newer.
    const streamed = streamedKeys.get(w.table);
    const kept = w.truncated
      ? []
      : rows.filter((row) => {
          const key = JSON.stringify(Object.values(keyOf(table, row)));
          return !w.touched.has(key) && !streamed?.has(key);
        });
    for (const row of kept) tx.changes.push(rowChange(table, 'snapshot', tx.commitLsn, null, row));
    tx.total += kept.length;
    const last = rows.at(-1);
    const progress: SnapshotProgress = {
      table: w.table,
      lastKey: last ? Object.values(keyOf(table, last)) : null,
      done: rows.length < snapshotChunk,
    };
    tx.progress.push({ progress, rows: kept.length, window: w });
  }

  async function onCommit(commit: Pgoutput.MessageCommit): Promise<void> {
    const tx = current!;
    current = undefined;
    const commitLsn = norm(commit.commitLsn ?? tx.commitLsn);
    if (!tx.skip) {
      const part = tx.changes;
      await db.transaction(async (sql) => {
        await writeChanges(sql, ctx, tx.parts > 0 ? await firstSeen(sql, ctx, part) : part);
        for (const p of tx.progress) await saveSnapshotProgress(sql, s, name, p.progress, p.rows);
        await saveCheckpoint(sql, s, name, commitLsn, tx.total);
      });
      checkpoint = commitLsn;
      notice({ type: 'transaction', commitLsn, changes: tx.total, parts: tx.parts + 1 });
    }
    // Confirm up to the commit's end: the server resumes at the first record not before it.
    const end = commit.commitEndLsn ? lsnValue(commit.commitEndLsn) - 1n : lsnValue(commitLsn);
    ackedTo = formatLsn(end);
    await service?.acknowledge(ackedTo);
    for (const p of tx.progress) {
      notice({ type: 'snapshot-chunk', table: p.progress.table, rows: p.rows, done: p.progress.done });
      p.window.done.resolve();
    }
    for (const id of tx.syncs) syncs.get(id)?.resolve();
  }

  async function onMessage(lsn: string, message: Pgoutput.Message): Promise<void> {
    if (failedWith) return;
    switch (message.tag) {
      case 'begin': {
        const commitLsn = norm(message.commitLsn ?? lsn);
        current = {
          commitLsn,
          committedAt: new Date(Number(BigInt(message.commitTime as unknown as bigint) / 1000n)),
          skip: checkpoint !== undefined && lsnValue(commitLsn) <= lsnValue(checkpoint),
          changes: [],
          parts: 0,
          total: 0,
          progress: [],
          syncs: [],
        };
        return;
      }
      case 'relation': {
        const table = tableOf(message);
        if (!table) return;
        const columns = message.columns.map((c) => c.name).join(',');
        const before = columnsSeen.get(table.name);
        columnsSeen.set(table.name, columns);
        if (before !== undefined && before !== columns) {
          notice({ type: 'schema-changed', table: table.name, columns: message.columns.map((c) => c.name) });
        }
        return;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const table = tableOf(message.relation);
        if (!table || !current || current.skip) return;
        if (message.tag === 'insert') collect(rowChange(table, 'insert', lsn, null, message.new));
        else if (message.tag === 'update') collect(rowChange(table, 'update', lsn, message.old, message.new));
        else collect(rowChange(table, 'delete', lsn, message.old ?? message.key, null));
        if (current.changes.length >= txChunk) await flushPart();
        return;
      }
      case 'truncate': {
        if (!current || current.skip) return;
        for (const relation of message.relations) {
          const table = tableOf(relation);
          if (table)
            collect({
              op: 'truncate',
              table: table.name,
              key: {},
              before: null,
              after: null,
              lsn: norm(lsn),
            });
        }
        return;
      }
      case 'message': {
        const mark = parseWatermark(name, message.prefix, message.content);
        if (mark && current && !current.skip) onWatermark(mark);
        return;
      }
      case 'commit':
        if (current) await onCommit(message);
        return;
      default:
        return;
    }
  }

  async function runSnapshot(): Promise<void> {
    const pending = (await loadSnapshotProgress(db, s, name)).filter((p) => !p.done && tables.has(p.table));
    for (const start of pending) {
      const table = tables.get(start.table)!;
      let lastKey = start.lastKey;
      for (;;) {
        if (failedWith || !running) return;
        const id = randomUUID();
        const window: Window = {
          table: table.name,
          open: false,
          truncated: false,
          touched: new Set(),
          done: deferred(),
        };
        windows.set(id, window);
        try {
          await emitWatermark(control!, name, { kind: 'low', id });
          window.rows = await readChunk(control!, table, lastKey, snapshotChunk);
          await emitWatermark(control!, name, { kind: 'high', id });
          await window.done.promise;
        } finally {
          windows.delete(id);
        }
        const last = window.rows.at(-1);
        if (last) lastKey = Object.values(keyOf(table, last));
        if (window.rows.length < snapshotChunk) break;
      }
      streamedKeys.delete(table.name);
    }
    notice({ type: 'snapshot-done' });
  }

  async function connectControl(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: options.source.connectionString,
      application_name: `tidemark-cdc-${name}`,
    });
    client.on('error', (err) => fail(err));
    try {
      await client.connect();
    } catch (cause) {
      throw new TidemarkError(
        'TM_SERVICE_UNREACHABLE',
        `cannot connect to the CDC source: ${(cause as Error).message}; check the source connection string`,
        { cause },
      );
    }
    return client;
  }

  return {
    failure: failurePromise,
    async start() {
      if (running) return;
      if (failedWith) throw failedWith;
      control = await connectControl();
      try {
        await checkSourceReady(control);
        const found = await describeTables(control, [...translators.keys()]);
        tables = new Map(found.map((t) => [t.name, t]));
        tablesByRelation = new Map();
        for (const t of found) {
          if (!translators.has(t.name))
            throw new TidemarkError('TM_INVALID_ARGUMENT', `table ${t.name} has no translator`);
        }
        const stored = await loadCheckpoint(db, s, name);
        const state = await slotState(control, slot);
        if (stored && state !== 'ok') {
          throw new TidemarkError(
            'TM_CDC_SLOT_MISSING',
            `capture ${name} streamed up to ${stored.lsn}, but its replication slot ${stored.slot} is ${state === 'lost' ? 'invalidated (it retained more WAL than max_slot_wal_keep_size)' : 'gone'}; ` +
              `changes since then are lost: run "tidemark cdc reset --capture ${name}" (or capture.reset()), start again to re-seed with a snapshot, then reconcile`,
            { context: { capture: name, slot: stored.slot, checkpoint: stored.lsn } },
          );
        }
        await ensurePublication(control, publication, found);
        const snapshotTables = options.snapshot === 'never' ? [] : found.map((t) => t.name);
        if (!stored) {
          if (state === 'missing') await createSlot(control, slot);
          await createCheckpoint(db, s, name, slot, snapshotTables);
        } else {
          await addSnapshotTables(db, s, name, snapshotTables);
        }
        checkpoint = stored && stored.lsn !== '0/0' ? norm(stored.lsn) : undefined;
        ackedTo = checkpoint ?? '0/0';
        streamedKeys.clear();
        for (const p of await loadSnapshotProgress(db, s, name)) {
          if (!p.done && tables.has(p.table)) streamedKeys.set(p.table, new Set());
        }
        const svc = new LogicalReplicationService(
          { connectionString: options.source.connectionString, application_name: `tidemark-cdc-${name}` },
          // Never acknowledge on receipt: only onCommit does, after the events are durable.
          { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
        );
        service = svc;
        svc.on('data', (lsn: string, message: Pgoutput.Message) =>
          onMessage(lsn, message).catch((err: unknown) => fail(err)),
        );
        svc.on('heartbeat', (_lsn: string, _time: number, shouldRespond: boolean) => {
          if (shouldRespond) void svc.acknowledge(ackedTo).catch(() => {});
        });
        svc.on('error', (err: Error) => fail(err));
        const started = new Promise<void>((resolve, reject) => {
          svc.once('start', () => resolve());
          svc.once('error', reject);
        });
        const plugin = new PgoutputPlugin({
          protoVersion: 1,
          publicationNames: [publication],
          messages: true,
        });
        svc.subscribe(plugin, slot).then(
          () => {
            if (running && !failedWith) fail(new Error('the source ended the replication stream'));
          },
          (err: unknown) => fail(err),
        );
        await started;
        running = true;
        notice({ type: 'streaming', fromLsn: ackedTo });
        snapshot = deferred();
        runSnapshot().then(
          () => snapshot.resolve(),
          (err: unknown) => fail(err),
        );
      } catch (err) {
        await stopStreaming();
        await control.end().catch(() => {});
        control = undefined;
        throw err;
      }
    },
    async stop() {
      await stopStreaming();
      await control?.end().catch(() => {});
      control = undefined;
    },
    snapshotDone: () => snapshot.promise,
    async catchUp() {
      if (failedWith) throw failedWith;
      if (!running || !control)
        throw new TidemarkError('TM_CLOSED', `capture ${name} is not running; start it first`);
      const id = randomUUID();
      const done = deferred();
      syncs.set(id, done);
      try {
        await emitWatermark(control, name, { kind: 'sync', id });
        await done.promise;
      } finally {
        syncs.delete(id);
      }
    },
    async status() {
      const stored = await loadCheckpoint(db, s, name);
      const client = control ?? (await connectControl());
      try {
        return {
          name,
          slot,
          checkpointLsn: stored?.lsn,
          lagBytes: await slotLagBytes(client, slot),
          snapshot: await loadSnapshotProgress(db, s, name),
          running,
        };
      } finally {
        if (client !== control) await client.end().catch(() => {});
      }
    },
    async reset() {
      await stopStreaming();
      const client = control ?? (await connectControl());
      try {
        await dropSlotAndPublication(client, slot, publication);
      } finally {
        // Also the control connection of a capture that ran: left open it keeps the process alive.
        await client.end().catch(() => {});
        if (client === control) control = undefined;
      }
      await db.transaction((tx) => deleteCaptureState(tx, s, name));
    },
  };
}
