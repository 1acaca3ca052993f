import { cronProblem } from './cron.js';
import type { Path, TopologyIssue } from './issues.js';
import { formatPath } from './issues.js';
import { allowListIssues } from './fields-check.js';
import { authorityStages, ruleKinds, stages } from './model.js';
import { didYouMean, listOf } from './suggest.js';
import { backboneIssues } from './backbone.js';

/*
 * The semantic checks of a topology document: everything that relates one part of the file to
 * another. Pure (document in, issues out) and tolerant: it runs on documents that also failed
 * the schema, reading only the values that have the right type and skipping checks whose
 * inputs are missing, so that one pass reports every error without follow-on noise.
 */

type Item = Readonly<Record<string, unknown>>;

interface Entry {
  readonly index: number;
  readonly item: Item;
}

const isRecord = (value: unknown): value is Item =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The entries of a list section, or `undefined` when the section is not a list (the schema says so). */
function section(root: Item, key: string): Entry[] | undefined {
  const value = root[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  return value.map((item, index) => ({ index, item: isRecord(item) ? item : {} }));
}

/** A set of declared names; `known` is false when the section is unusable, so references are not checked. */
interface Names {
  readonly known: boolean;
  readonly names: readonly string[];
  has(name: string): boolean;
}

function names(list: readonly string[] | undefined): Names {
  const set = new Set(list ?? []);
  return { known: list !== undefined, names: [...set], has: (name) => set.has(name) };
}

export function checkTopology(document: unknown): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  if (!isRecord(document)) return issues;
  const report = (path: Path, message: string) => issues.push({ path, message });

  /** Reports a second declaration of a name; returns the names declared in the section. */
  const declare = (key: string, kind: string, entries: Entry[] | undefined): Names => {
    if (!entries) return names(undefined);
    const first = new Map<string, number>();
    for (const { index, item } of entries) {
      const name = text(item.name);
      if (name === undefined) continue;
      const earlier = first.get(name);
      if (earlier === undefined) first.set(name, index);
      else if (key !== 'entityTypes') {
        report(
          [key, index, 'name'],
          `${kind} '${name}' is already declared at ${formatPath([key, earlier])}; ` +
            `names must be unique: rename or remove one of them`,
        );
      }
    }
    return names([...first.keys()]);
  };

  /** Reports a reference to an undeclared name, suggesting the closest declared one. */
  const reference = (
    path: Path,
    kind: string,
    plural: string,
    key: string,
    value: unknown,
    declared: Names,
  ) => {
    const name = text(value);
    if (name === undefined || !declared.known || declared.has(name)) return;
    const hint = didYouMean(name, declared.names) || ` — declare '${name}' under ${key}, or use one of those`;
    report(path, `${kind} '${name}' is not declared; declared ${plural}: ${listOf(declared.names)}${hint}`);
  };

  const contextEntries = section(document, 'contexts');
  const typeEntries = section(document, 'entityTypes');
  const flowEntries = section(document, 'flows');
  const decisionEntries = section(document, 'decisions');
  const calendarEntries = section(document, 'calendars');
  const conditionEntries = section(document, 'conditions');
  const scheduleEntries = section(document, 'reconciliation');

  const contexts = declare('contexts', 'context', contextEntries);
  const types = declare('entityTypes', 'entity type', typeEntries);
  const flowNames = declare('flows', 'flow', flowEntries);
  declare('decisions', 'decision', decisionEntries);
  const calendars = declare('calendars', 'calendar', calendarEntries);
  const conditions = declare('conditions', 'condition', conditionEntries);

  const contextRef = (path: Path, value: unknown) =>
    reference(path, 'context', 'contexts', 'contexts', value, contexts);
  const typeRef = (path: Path, value: unknown) =>
    reference(path, 'entity type', 'entity types', 'entityTypes', value, types);
  const calendarRef = (path: Path, value: unknown) =>
    reference(path, 'calendar', 'calendars', 'calendars', value, calendars);
  const conditionRef = (path: Path, value: unknown) =>
    reference(path, 'condition', 'conditions', 'conditions', value, conditions);

  // Entity types: exactly one authority each, and it must be a declared context.
  const authority = new Map<string, { context: string | undefined; index: number }>();
  for (const { index, item } of typeEntries ?? []) {
    const name = text(item.name);
    const owner = text(item.authority);
    contextRef(['entityTypes', index, 'authority'], item.authority);
    if (name === undefined) continue;
    const earlier = authority.get(name);
    if (!earlier) {
      authority.set(name, { context: owner, index });
    } else if (owner !== undefined && earlier.context !== undefined && owner !== earlier.context) {
      report(
        ['entityTypes', index, 'authority'],
        `entity type '${name}' already has authority '${earlier.context}' (${formatPath(['entityTypes', earlier.index])}); ` +
          `an entity type has exactly one authority: remove this entry, or let '${owner}' consume '${name}' through a flow`,
      );
    } else {
      report(
        ['entityTypes', index, 'name'],
        `entity type '${name}' is already declared at ${formatPath(['entityTypes', earlier.index])}; remove one of them`,
      );
    }
  }
  /** The authority of a type, if it is settled: declared, and a declared context (else that is the error). */
  const authorityOf = (type: string | undefined) => {
    const owner = type === undefined ? undefined : authority.get(type)?.context;
    return owner !== undefined && contexts.known && !contexts.has(owner) ? undefined : owner;
  };

  // Flows.
  interface FlowFacts {
    readonly index: number;
    readonly name: string | undefined;
    readonly strategy: string | undefined;
  }
  const flowByTarget = new Map<string, FlowFacts>();
  const flowByName = new Map<string, FlowFacts>();
  const pairKey = (type: string, consumer: string) => `${type}\u0000${consumer}`;
  const unsettled = new Set<string>();
  for (const { index, item } of flowEntries ?? []) {
    const at = (...rest: (string | number)[]): Path => ['flows', index, ...rest];
    const name = text(item.name);
    const type = text(item.entityType);
    const source = text(item.source);
    const consumer = text(item.consumer);
    const strategy = text(item.strategy);
    const tier = text(item.tier);
    const facts = { index, name, strategy };
    if (name !== undefined && !flowByName.has(name)) flowByName.set(name, facts);

    typeRef(at('entityType'), type);
    contextRef(at('source'), source);
    contextRef(at('consumer'), consumer);
    const owner = authorityOf(type);
    if (owner !== undefined && source !== undefined && contexts.has(source) && source !== owner) {
      report(
        at('source'),
        `'${source}' is not the authority of '${type}', so it cannot be the source of its flows; ` +
          `the authority is '${owner}': set source: ${owner}`,
      );
    }
    if (owner !== undefined && consumer === owner) {
      report(
        at('consumer'),
        `'${consumer}' is the authority of '${type}'; a flow carries an entity type from its authority to ` +
          'another context: set consumer to a context that needs the data, or remove this flow',
      );
    }
    if (type !== undefined && (consumer === undefined || (contexts.known && !contexts.has(consumer)))) {
      // Where this flow goes is unknown until it is fixed: do not claim a context never receives the type.
      unsettled.add(type);
    }
    if (type !== undefined && consumer !== undefined && (!contexts.known || contexts.has(consumer))) {
      const earlier = flowByTarget.get(pairKey(type, consumer));
      if (earlier) {
        report(
          at('consumer'),
          `${formatPath(['flows', earlier.index])}${earlier.name ? ` (${earlier.name})` : ''} already brings '${type}' ` +
            `to '${consumer}'; one flow per entity type and consumer: remove one of them`,
        );
      } else {
        flowByTarget.set(pairKey(type, consumer), facts);
      }
    }

    const staleness = item.maxStalenessMs;
    if (tier === 'bounded' && (staleness === undefined || staleness === null)) {
      report(
        at('tier'),
        "tier 'bounded' needs maxStalenessMs, how old a local copy may be before a read fetches: " +
          'add maxStalenessMs: 60000 (for one minute), or choose tier strong or eventual',
      );
    }
    if (tier !== undefined && tier !== 'bounded' && typeof staleness === 'number') {
      report(
        at('maxStalenessMs'),
        `maxStalenessMs applies only to tier 'bounded', and this flow is '${tier}': remove maxStalenessMs or set tier: bounded`,
      );
    }

    const rules = Array.isArray(item.rules) ? item.rules : [];
    if (strategy === 'pull' && rules.length > 0) {
      report(
        at('rules'),
        'a pull flow keeps no copy and applies nothing, so consumer rules cannot hold, defer or block ' +
          'anything: remove the rules, or choose push-state, push-domain or notify-fetch',
      );
    }
    for (const [r, rule] of rules.entries()) {
      if (!isRecord(rule)) continue;
      const kinds = ruleKinds.filter((kind) => rule[kind] !== undefined && rule[kind] !== null);
      if (kinds.length === 0) {
        report(
          at('rules', r),
          "a rule needs one of 'hold: <held state>', 'deferred-until: <calendar>' or 'blocked-when: <condition>', " +
            'e.g. hold: under-review',
        );
        continue;
      }
      if (kinds.length > 1) {
        report(
          at('rules', r),
          `a rule has exactly one kind, this one has ${kinds.join(' and ')}: split it into ${kinds.length} rules`,
        );
      }
      if (rule.when !== undefined && rule.when !== null && !kinds.includes('hold')) {
        report(
          at('rules', r, 'when'),
          `'when' qualifies only a hold rule; remove it from this ${kinds[0]} rule` +
            (kinds[0] === 'blocked-when' ? ' (blocked-when already names its condition)' : ''),
        );
      }
      calendarRef(at('rules', r, 'deferred-until'), rule['deferred-until']);
      conditionRef(at('rules', r, 'blocked-when'), rule['blocked-when']);
      if (kinds.includes('hold')) conditionRef(at('rules', r, 'when'), rule.when);
    }
    for (const issue of allowListIssues(at(), name, item)) issues.push(issue);
  }
  const receivers = (type: string) =>
    [...flowByTarget.entries()]
      .filter(([key]) => key.startsWith(`${type}\u0000`))
      .map(([key]) => key.slice(type.length + 1));

  // Reconciliation schedules.
  const scheduled = new Map<string, number>();
  const schedules = scheduleEntries !== undefined;
  for (const { index, item } of scheduleEntries ?? []) {
    const at = (...rest: (string | number)[]): Path => ['reconciliation', index, ...rest];
    const flow = text(item.flow);
    reference(at('flow'), 'flow', 'flows', 'flows', flow, flowNames);
    if (flow !== undefined) {
      const earlier = scheduled.get(flow);
      if (earlier !== undefined) {
        report(
          at('flow'),
          `flow '${flow}' already has a schedule at ${formatPath(['reconciliation', earlier])}; ` +
            'one schedule per flow: keep one of them',
        );
      } else {
        scheduled.set(flow, index);
      }
      if (flowByName.get(flow)?.strategy === 'pull') {
        report(
          at('flow'),
          `flow '${flow}' uses pull and keeps no copy, so there is nothing to reconcile: remove this schedule`,
        );
      }
    }
    const every = item.every ?? undefined;
    const cron = item.cron ?? undefined;
    if (every === undefined && cron === undefined) {
      report(
        at(),
        "a schedule needs 'every' (e.g. every: 15m) or 'cron' (e.g. cron: '*/15 * * * *'): add one of them",
      );
    } else if (every !== undefined && cron !== undefined) {
      report(at('cron'), "a schedule has either 'every' or 'cron', not both: remove one of them");
    }
    if (typeof cron === 'string' && cron !== '') {
      const problem = cronProblem(cron);
      if (problem) report(at('cron'), problem);
    }
  }

  // Calendars.
  for (const { index, item } of calendarEntries ?? []) {
    if (typeof item.cron !== 'string' || item.cron === '') continue; // the schema reports ''
    const problem = cronProblem(item.cron);
    if (problem) report(['calendars', index, 'cron'], problem);
  }

  // Decisions: each requirement names a stage at a context that reaches it for this entity type.
  for (const { index, item } of decisionEntries ?? []) {
    const at = (...rest: (string | number)[]): Path => ['decisions', index, ...rest];
    const type = text(item.entityType);
    typeRef(at('entityType'), type);
    calendarRef(at('cutOff'), item.cutOff);
    const owner = authorityOf(type);
    const seen = new Map<string, number>();
    const requires = Array.isArray(item.requires) ? item.requires : [];
    for (const [r, requirement] of requires.entries()) {
      const path = at('requires', r);
      const match = typeof requirement === 'string' ? /^([a-z]+)@(.+)$/.exec(requirement) : null;
      if (!match) continue; // the schema reports the shape
      const [, stage, context] = match as unknown as [string, string, string];
      const earlier = seen.get(requirement as string);
      if (earlier !== undefined) {
        report(
          path,
          `'${requirement as string}' is already required at ${formatPath(at('requires', earlier))}: remove one`,
        );
        continue;
      }
      seen.set(requirement as string, r);
      if (!(stages as readonly string[]).includes(stage)) {
        report(
          path,
          `'${stage}' is not a maturity stage; stages: ${listOf(stages)}${didYouMean(stage, stages)}`,
        );
        continue;
      }
      if (!contexts.known || !contexts.has(context)) {
        contextRef(path, context);
        continue;
      }
      if (type === undefined || owner === undefined) continue;
      if ((authorityStages as readonly string[]).includes(stage)) {
        if (context !== owner) {
          report(
            path,
            `'${stage}' is reached at the authority of '${type}', which is '${owner}', not '${context}': ` +
              `write ${stage}@${owner}`,
          );
        }
        continue;
      }
      if (context === owner) {
        report(
          path,
          `'${context}' is the authority of '${type}' and does not consume it, so it never reaches '${stage}': ` +
            `require ${authorityStages.join(', ')} at ${owner}, or ${stage} at a consumer (${listOf(receivers(type))})`,
        );
        continue;
      }
      const flow = flowByTarget.get(pairKey(type, context));
      if (!flow) {
        if (!flowEntries || unsettled.has(type)) continue;
        report(
          path,
          `'${context}' never receives '${type}' (no flow brings it there), so it never reaches '${stage}'; ` +
            `contexts that receive '${type}': ${listOf(receivers(type))}: add a flow to '${context}' or require another context`,
        );
        continue;
      }
      if (flow.strategy === 'pull') {
        report(
          path,
          `'${context}' reads '${type}' by pull and keeps no copy, so it never reaches '${stage}': ` +
            'choose another strategy for that flow, or drop this requirement',
        );
        continue;
      }
      if (stage === 'reconciled' && schedules && flow.name !== undefined && !scheduled.has(flow.name)) {
        report(
          path,
          `'reconciled@${context}' needs a reconciliation schedule for flow '${flow.name}': ` +
            `add { flow: ${flow.name}, every: 15m, repair: republish } under reconciliation`,
        );
      }
    }
  }

  issues.push(...backboneIssues(document));
  return issues;
}
