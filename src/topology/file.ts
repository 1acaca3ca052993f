import { readFile } from 'node:fs/promises';
import { TidemarkError } from '../errors.js';
import type { Topology } from './model.js';
import {
  parseTopology,
  TopologyInvalidError,
  type ParseTopologyOptions,
  type TopologyResult,
} from './parse.js';

/** Reads a topology file and validates it; a missing file is `TM_TOPOLOGY_NOT_FOUND`. */
export async function readTopologyFile(
  path: string,
  options: ParseTopologyOptions = {},
): Promise<TopologyResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TidemarkError(
        'TM_TOPOLOGY_NOT_FOUND',
        `topology file '${path}' does not exist; write a starter with \`tidemark init --file ${path}\`, ` +
          'or point --file at your topology',
        { cause, context: { file: path } },
      );
    }
    throw cause;
  }
  return parseTopology(text, path, options);
}

/** Reads and validates a topology file; throws {@link TopologyInvalidError} listing every error. */
export async function loadTopology(path: string, options: ParseTopologyOptions = {}): Promise<Topology> {
  const result = await readTopologyFile(path, options);
  if (!result.valid) throw new TopologyInvalidError(path, result.errors);
  return result.topology;
}
