import { TidemarkError } from '../errors.js';
import { maxVersion, type BatchGetDocument, type BehindEntity, type EntityDocument } from './wire.js';

/**
 * Checks of what an authority answers. An answer that fails them is never handed to the caller:
 * it raises `TM_AUTHORITY_BAD_RESPONSE` naming what was wrong.
 */

export interface AnswerContext {
  readonly authority: string;
  readonly type: string;
  readonly status?: number;
}

export function badResponse(
  at: AnswerContext & { id?: string },
  what: string,
  cause?: unknown,
): TidemarkError {
  const subject = at.id === undefined ? `${at.type} batch` : `${at.type} '${at.id}'`;
  return new TidemarkError(
    'TM_AUTHORITY_BAD_RESPONSE',
    `authority ${at.authority} answered the read of ${subject} with an invalid response: ${what}; ` +
      "check the authority's read API (version and deployment) — the answer was not used",
    { cause, context: { ...at, issue: what } },
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const show = (v: unknown): string => {
  const text = JSON.stringify(v);
  if (text === undefined) return String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

export const isVersion = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= maxVersion;

/** Parses JSON text, reporting text that is not JSON as a bad response. */
export function parseJson(text: string, at: AnswerContext & { id?: string }): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw badResponse(at, `the body is not JSON (${show(text.slice(0, 60))})`, cause);
  }
}

/** Checks one entity document against what was asked: its type, id and lowest version. */
export function checkEntity(
  body: unknown,
  expected: { type: string; id: string; minVersion?: number | undefined },
  at: AnswerContext,
): EntityDocument {
  const where = { ...at, id: expected.id };
  if (!isRecord(body)) throw badResponse(where, `expected an object, got ${show(body)}`);
  if (body.type !== expected.type)
    throw badResponse(where, `type is ${show(body.type)}, expected ${show(expected.type)}`);
  if (body.id !== expected.id)
    throw badResponse(where, `id is ${show(body.id)}, expected ${show(expected.id)}`);
  if (!isVersion(body.version))
    throw badResponse(where, `version is ${show(body.version)}, expected an integer from 1 to ${maxVersion}`);
  if (expected.minVersion !== undefined && body.version < expected.minVersion)
    throw badResponse(
      where,
      `version ${body.version} is below the requested minVersion ${expected.minVersion}`,
    );
  if (!('state' in body) || body.state === undefined) throw badResponse(where, 'state is missing');
  if (
    body.updatedAt !== undefined &&
    (typeof body.updatedAt !== 'string' || Number.isNaN(Date.parse(body.updatedAt)))
  )
    throw badResponse(where, `updatedAt is ${show(body.updatedAt)}, expected an ISO timestamp`);
  return {
    type: body.type,
    id: body.id,
    version: body.version,
    state: body.state,
    ...(body.updatedAt === undefined ? {} : { updatedAt: body.updatedAt as string }),
  };
}

/**
 * Checks a `:batchGet` answer: every requested id appears exactly once across `entities`,
 * `missing` and `behind`, and nothing else does.
 */
export function checkBatch(
  body: unknown,
  request: { type: string; ids: readonly string[]; minVersions: Readonly<Record<string, number>> },
  at: AnswerContext,
): BatchGetDocument {
  if (!isRecord(body)) throw badResponse(at, `expected an object, got ${show(body)}`);
  const { entities, missing } = body;
  const behind = body.behind ?? [];
  if (!Array.isArray(entities)) throw badResponse(at, `entities is ${show(entities)}, expected an array`);
  if (!Array.isArray(missing)) throw badResponse(at, `missing is ${show(missing)}, expected an array`);
  if (!Array.isArray(behind)) throw badResponse(at, `behind is ${show(behind)}, expected an array`);
  const unanswered = new Set(request.ids);
  const answer = (id: unknown, list: string) => {
    if (typeof id !== 'string' || !unanswered.delete(id))
      throw badResponse(at, `${list} names ${show(id)}, which was not asked for or is answered twice`);
  };
  const checkedEntities = (entities as unknown[]).map((entity) => {
    const id = isRecord(entity) ? entity.id : undefined;
    answer(id, 'entities');
    return checkEntity(
      entity,
      { type: request.type, id: id as string, minVersion: request.minVersions[id as string] },
      at,
    );
  });
  for (const id of missing as unknown[]) answer(id, 'missing');
  const checkedBehind = (behind as unknown[]).map((item): BehindEntity => {
    if (!isRecord(item)) throw badResponse(at, `behind holds ${show(item)}, expected an object`);
    answer(item.id, 'behind');
    const minVersion = request.minVersions[item.id as string];
    if (minVersion === undefined || !isVersion(item.currentVersion) || item.currentVersion >= minVersion)
      throw badResponse(at, `behind holds ${show(item)}, which is not below a requested minVersion`);
    return { id: item.id as string, currentVersion: item.currentVersion, minVersion };
  });
  if (unanswered.size > 0)
    throw badResponse(at, `the answer leaves out ${[...unanswered].map((id) => show(id)).join(', ')}`);
  return { entities: checkedEntities, missing: missing as string[], behind: checkedBehind };
}
