/** NOTIFY channel on which appends wake the relays of one schema. */
export function outboxChannel(schema: string): string {
  return `tidemark_outbox_${schema}`;
}
