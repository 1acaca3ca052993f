/**
 * The extension attribute that marks a minimized copy (src/relay/audiences.ts), naming the
 * consumer it was cut for. Consumers read it to tell a field the allow-list removed from a
 * field the producer left out.
 */
export const minimizedAttribute = 'minimizedfor';
