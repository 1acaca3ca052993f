import { TidemarkError } from '../src/errors.js';

/** What one chaos run does; every random choice derives from `seed`. */
export interface ChaosOptions {
  readonly events: number;
  readonly keys: number;
  readonly seed: number;
  /** Faults of the process/infrastructure kind (kills, restarts, terminated connections). */
  readonly faults: number;
  /** Events per second the producer offers; pacing spreads the faults over the run. */
  readonly rate: number;
  /** Share of events that carry a poison payload (at most one per key). */
  readonly poisonRate: number;
  /** In-stream fault rates, applied inside the relay and consumer processes. */
  readonly duplicateDeliveryRate: number;
  readonly reorderRate: number;
  readonly redeliveryRate: number;
  readonly duplicatePublishRate: number;
  readonly partitions: number;
  /** The run gives up waiting for convergence after this long (the report then says so). */
  readonly convergeTimeoutMs: number;
  readonly postgres: string;
  readonly json: boolean;
}

export const defaultOptions: ChaosOptions = {
  events: 100_000,
  keys: 1_000,
  seed: 1,
  faults: 12,
  rate: 500,
  poisonRate: 0.001,
  duplicateDeliveryRate: 0.02,
  reorderRate: 0.05,
  redeliveryRate: 0.02,
  duplicatePublishRate: 0.02,
  partitions: 12,
  convergeTimeoutMs: 180_000,
  postgres: process.env.TIDEMARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test',
  json: false,
};

const usage =
  'usage: npm run chaos -- [--events N] [--keys K] [--seed S] [--faults F] [--rate EV_PER_S] ' +
  '[--poison-rate R] [--json]';

function invalid(message: string): never {
  throw new TidemarkError('TM_INVALID_ARGUMENT', `${message}\n${usage}`);
}

const integerFlags = {
  '--events': ['events', 1, 10_000_000],
  '--keys': ['keys', 1, 1_000_000],
  '--seed': ['seed', 0, 2 ** 32 - 1],
  '--faults': ['faults', 0, 1_000],
  '--rate': ['rate', 1, 100_000],
  '--partitions': ['partitions', 1, 256],
  '--converge-timeout-ms': ['convergeTimeoutMs', 1_000, 3_600_000],
} as const;

const rateFlags = {
  '--poison-rate': 'poisonRate',
  '--duplicate-delivery-rate': 'duplicateDeliveryRate',
  '--reorder-rate': 'reorderRate',
  '--redelivery-rate': 'redeliveryRate',
  '--duplicate-publish-rate': 'duplicatePublishRate',
} as const;

/** Parses `npm run chaos -- …` arguments; an unknown flag or a bad value names itself and the fix. */
export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const options: Record<string, unknown> = { ...defaultOptions };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--') continue;
    if (flag === '--json') {
      options.json = true;
      continue;
    }
    const value = argv[i + 1];
    if (flag === '--postgres') {
      if (!value) invalid('--postgres needs a connection string');
      options.postgres = value;
      i++;
      continue;
    }
    if (flag in integerFlags) {
      const [name, min, max] = integerFlags[flag as keyof typeof integerFlags];
      const n = Number(value);
      if (value === undefined || !Number.isInteger(n) || n < min || n > max)
        invalid(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value ?? null)}`);
      options[name] = n;
      i++;
      continue;
    }
    if (flag in rateFlags) {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < 0 || n > 0.5)
        invalid(`${flag} must be a number from 0 to 0.5, got ${JSON.stringify(value ?? null)}`);
      options[rateFlags[flag as keyof typeof rateFlags]] = n;
      i++;
      continue;
    }
    invalid(`unknown option ${JSON.stringify(flag)}`);
  }
  const parsed = options as unknown as ChaosOptions;
  if (parsed.events < parsed.keys)
    invalid(`--events (${parsed.events}) must be at least --keys (${parsed.keys}) so every key gets events`);
  return parsed;
}
