import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, registerCaptureLagCollector } from '../../src/obs/index.js';
import { postgresAvailable } from '../support/services.js';
import { openLegacyEstate, type LegacyEstate } from './legacy.js';

const available = await postgresAvailable();

describe.skipIf(!available)('CDC: tidemark_cdc_lag_bytes', () => {
  let estate: LegacyEstate | undefined;
  afterEach(async () => {
    await estate?.cleanup();
    estate = undefined;
  });

  it('Given a capture with the lag collector, when it is stopped while the legacy system writes, then the lag grows; after it restarts and catches up, the lag shrinks', async () => {
    estate = await openLegacyEstate();
    const { table } = estate;
    const metrics = createMetrics();
    const capture = estate.capture({ snapshot: 'never' });
    registerCaptureLagCollector(metrics, capture);
    const lag = async () => {
      const values = (await metrics.registry.getSingleMetric('tidemark_cdc_lag_bytes')!.get()).values;
      expect(values.map((v) => v.labels)).toEqual([{ capture: estate!.captureName }]);
      return values[0]!.value;
    };

    await capture.start();
    await estate.source.query(`INSERT INTO ${table} (id) VALUES (0)`);
    await capture.catchUp();
    await capture.stop();
    const caughtUp = await lag();

    // About 4 MiB of WAL (stored uncompressed): far more than other suites on the shared server
    // write meanwhile.
    await estate.source.query(`ALTER TABLE ${table} ALTER COLUMN addr_line1 SET STORAGE EXTERNAL`);
    await estate.source.query(
      `INSERT INTO ${table} (id, addr_line1) SELECT g, repeat(md5(g::text), 64) FROM generate_series(1, 2000) g`,
    );
    const behind = await lag();
    expect(behind).toBeGreaterThan(caughtUp + 2_000 * 2_048);

    const resumed = estate.capture({ snapshot: 'never' });
    await resumed.start();
    await resumed.catchUp();
    // The outbox lives on the same server here: writing it made WAL after the first sync point.
    await resumed.catchUp();
    const after = await lag();
    expect(after).toBeLessThan(behind - 2_000 * 2_048);
    expect((await estate.outbox()).length).toBe(2_001);
    await resumed.stop();
  });
});
