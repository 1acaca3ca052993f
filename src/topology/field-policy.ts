/**
 * The topology's per-flow allow-lists as the policies the relay, the consumer runtime and the
 * read API apply, so all three cut an event or a state down the same way.
 */
import type { FieldPolicy } from '../schema/minimize.js';
import type { SchemaLookup } from '../schema/schema-set.js';
import type { Topology } from './model.js';

/**
 * Contexts with at least one flow that declares `fields`. The relay sends such a context a
 * minimized copy of every event it receives and never the full event.
 */
export function restrictedConsumers(topology: Topology): string[] {
  return [...new Set(topology.flows.filter((f) => f.fields !== undefined).map((f) => f.consumer))];
}

/** The entity types that flow into `consumer`. */
export function entityTypesTo(topology: Topology, consumer: string): string[] {
  return topology.flowsTo(consumer).map((f) => f.entityType);
}

/**
 * What `consumer` may see: its flows' allow-lists by entity type, and the schemas whose `x-pii`
 * tags are withheld unless the list names them (the topology check made sure such a name is
 * an explicit opt-in).
 */
export function fieldPolicyOf(topology: Topology, consumer: string, schemas?: SchemaLookup): FieldPolicy {
  const fields: Record<string, readonly string[]> = {};
  for (const flow of topology.flowsTo(consumer)) if (flow.fields) fields[flow.entityType] = flow.fields;
  return { fields, ...(schemas ? { schemas } : {}) };
}

/**
 * The consumer's allow-lists in the form `ReceiveOptions.fields` takes, so a consumer applies
 * the topology's lists before its handlers too (defence in depth behind the minimized channel).
 */
export function receiveFieldsOf(topology: Topology, consumer: string): Record<string, readonly string[]> {
  return { ...fieldPolicyOf(topology, consumer).fields };
}
