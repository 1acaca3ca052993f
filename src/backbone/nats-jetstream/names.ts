import { checkGroupName } from '../shared/options.js';
import type { NatsJetStreamConfig } from './options.js';

/**
 * Every name the adapter derives from configuration, in one place, so the stream layout is
 * visible at a glance: subjects `<prefix>.p.<n>`, one durable consumer `<group>_p<n>` per
 * (group, partition), and a KV bucket `<stream>_leases` with keys `members.<group>.<member>`
 * and `leases.<group>.<n>`.
 */
export function naming(config: Pick<NatsJetStreamConfig, 'stream' | 'subjectPrefix' | 'partitions'>) {
  return {
    subject: (partition: number) => `${config.subjectPrefix}.p.${partition}`,
    subjects: () => Array.from({ length: config.partitions }, (_, p) => `${config.subjectPrefix}.p.${p}`),
    // The part after the last "_p" is digits only, so no two (group, partition) pairs collide.
    consumer: (group: string, partition: number) => `${group}_p${partition}`,
    bucket: `${config.stream}_leases`,
    memberKey: (group: string, member: string) => `members.${group}.${member}`,
    membersFilter: (group: string) => `members.${group}.*`,
    memberOfKey: (key: string) => key.slice(key.lastIndexOf('.') + 1),
    leaseKey: (group: string, partition: number) => `leases.${group}.${partition}`,
  };
}

export type Naming = ReturnType<typeof naming>;

/** Group names become consumer names and KV key tokens. */
export function checkGroup(group: string): void {
  checkGroupName(group, 'a NATS consumer');
}

/** A member id usable as one KV key token (host names may contain dots). */
export function memberToken(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]/g, '-');
}
