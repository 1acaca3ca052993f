import type { Topology } from '../topology/model.js';

/** The topology as plain data (the model also carries lookup functions). */
export function topologyView(topology: Topology | undefined) {
  if (!topology) {
    return { declared: false, contexts: [], entityTypes: [], flows: [], decisions: [], calendars: [] };
  }
  return {
    declared: true,
    contexts: topology.contexts,
    entityTypes: topology.entityTypes,
    flows: topology.flows,
    decisions: topology.decisions,
    calendars: topology.calendars,
    conditions: topology.conditions,
    reconciliation: topology.reconciliation,
  };
}
