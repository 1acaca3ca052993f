import { nanos } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { TidemarkError } from '../../errors.js';
import type { NatsJetStreamConfig } from './options.js';
import type { Naming } from './names.js';

/**
 * Creates the log stream, or checks that an existing one matches the configuration.
 *
 * Only settings the contract depends on are compared: the subject list (it encodes the
 * partition count, and so which partition each key lands in), limits retention (work-queue or
 * interest retention would delete a message once one group acknowledges it, starving the
 * others), storage, replicas and the duplicate window. A mismatch is never "fixed" in place:
 * re-partitioning a live stream would break per-key order, so it is an error to resolve by hand.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: NatsJetStreamConfig,
  names: Naming,
): Promise<void> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: config.stream,
    subjects: names.subjects(),
    retention: RetentionPolicy.Limits,
    storage: config.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: config.replicas,
    duplicate_window: nanos(config.duplicateWindowMs),
    discard: DiscardPolicy.Old,
  };
  const existing = await streamConfig(jsm, config.stream);
  if (!existing) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (error) {
      // Another instance may have created it a moment ago; then it must match like any other.
      const raced = await streamConfig(jsm, config.stream);
      if (!raced) throw error;
      return verify(raced, wanted, config);
    }
  }
  verify(existing, wanted, config);
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    throw error;
  }
}

function verify(existing: StreamConfig, wanted: Partial<StreamConfig>, config: NatsJetStreamConfig): void {
  const differences: { setting: string; existing: unknown; configured: unknown; option: string }[] = [];
  const sorted = (subjects: readonly string[] | undefined) => [...(subjects ?? [])].sort().join(',');
  if (sorted(existing.subjects) !== sorted(wanted.subjects)) {
    const prefix = `${config.subjectPrefix}.p.`;
    const existingPartitions = (existing.subjects ?? []).filter((s) => s.startsWith(prefix)).length;
    differences.push({
      setting: 'subjects',
      existing: existing.subjects,
      configured: wanted.subjects,
      option:
        existingPartitions === (existing.subjects ?? []).length
          ? `partitions: ${existingPartitions}`
          : `the subjectPrefix the stream was created with`,
    });
  }
  const compare = (setting: keyof StreamConfig, option: string) => {
    if (existing[setting] !== wanted[setting]) {
      differences.push({ setting, existing: existing[setting], configured: wanted[setting], option });
    }
  };
  compare('retention', 'a stream with limits retention');
  compare('storage', `storage: '${existing.storage}'`);
  compare('num_replicas', `replicas: ${existing.num_replicas}`);
  compare('duplicate_window', `duplicateWindowMs: ${Math.round(existing.duplicate_window / 1e6)}`);
  if (differences.length === 0) return;
  const described = differences
    .map((d) => `${d.setting} is ${JSON.stringify(d.existing)}, configured ${JSON.stringify(d.configured)}`)
    .join('; ');
  throw new TidemarkError(
    'TM_STREAM_MISMATCH',
    `NATS stream '${config.stream}' already exists with a different configuration: ${described}. ` +
      `Configure ${differences.map((d) => d.option).join(', ')} to use it as it is, or choose another ` +
      'stream name; Tidemark never alters an existing stream (re-partitioning would break per-key order)',
    { context: { stream: config.stream, differences } },
  );
}
