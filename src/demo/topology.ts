import { parseTopology } from '../topology/parse.js';
import type { Topology } from '../topology/model.js';
import { starterTopology } from '../topology/starter.js';

/** The demo estate is the one `tidemark init` writes: its topology is the starter file. */
export function demoTopology(): Topology {
  const parsed = parseTopology(starterTopology, 'tidemark.yaml (starter)');
  if (!parsed.valid)
    throw new Error(`the starter topology does not validate: ${JSON.stringify(parsed.errors)}`);
  return parsed.topology;
}
