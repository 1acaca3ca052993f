import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TidemarkError } from '../errors.js';
import { type SchemaCompiler } from './compile.js';
import { createSchemaSet, type SchemaInput, type SchemaSet } from './schema-set.js';

/** A problem with one file of a schema directory. */
export interface SchemaFileProblem {
  readonly file: string;
  readonly problem: string;
}

export interface LoadedSchemas extends SchemaSet {
  /** The directory the schemas were read from, as given. */
  readonly directory: string;
}

const versionFile = /^([1-9][0-9]{0,9})\.json$/;

/**
 * Reads `<dir>/<type>/<version>.json` (e.g. `schemas/customer.AddressChanged/2.json`): one
 * folder per event type, one file per version, named by the whole version number. Files not
 * ending in `.json`, hidden entries and nested folders are ignored.
 *
 * Every problem is collected before failing, so one run lists them all.
 * @throws TidemarkError `TM_SCHEMA_INVALID` naming each bad file (not JSON, file name not a
 *   version number, schema that does not compile); `TM_INVALID_ARGUMENT` if `dir` is missing.
 */
export async function loadSchemasFromDirectory(
  dir: string,
  options: { compiler?: SchemaCompiler } = {},
): Promise<LoadedSchemas> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `schema directory ${JSON.stringify(dir)} does not exist or is not a directory; ` +
        'create it with one folder per event type and one file per version, e.g. schemas/customer.AddressChanged/1.json',
      { context: { dir } },
    );
  }
  const problems: SchemaFileProblem[] = [];
  const inputs: SchemaInput[] = [];
  const types = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const type of types) {
    const entries = (await readdir(join(dir, type), { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.endsWith('.json'))
      .map((e) => e.name)
      .sort();
    for (const name of entries) {
      const file = join(dir, type, name);
      const match = versionFile.exec(name);
      const version = match ? Number(match[1]) : NaN;
      if (!match || version > 2_147_483_647) {
        problems.push({
          file,
          problem: `the file name must be the version, a whole number from 1 without leading zeros (1.json, 2.json…), not ${JSON.stringify(name)}`,
        });
        continue;
      }
      let schema: unknown;
      try {
        schema = JSON.parse(await readFile(file, 'utf8'));
      } catch (cause) {
        problems.push({ file, problem: `not valid JSON: ${(cause as Error).message}` });
        continue;
      }
      inputs.push({ type, version, schema: schema as SchemaInput['schema'], origin: file });
    }
  }
  // Compile each on its own so that every broken schema is reported, not only the first.
  const compiled: SchemaInput[] = [];
  for (const input of inputs) {
    try {
      createSchemaSet([input], options);
      compiled.push(input);
    } catch (error) {
      const problem = (error as TidemarkError).context?.problem;
      problems.push({
        file: input.origin!,
        problem:
          typeof problem === 'string' ? `not a valid JSON Schema: ${problem}` : (error as Error).message,
      });
    }
  }
  if (problems.length > 0) {
    throw new TidemarkError(
      'TM_SCHEMA_INVALID',
      `${problems.length} schema file${problems.length === 1 ? '' : 's'} in ${dir} cannot be used:\n` +
        problems.map((p) => `  ${p.file}: ${p.problem}`).join('\n'),
      { context: { dir, problems } },
    );
  }
  return Object.freeze({ ...createSchemaSet(compiled, options), directory: dir });
}
