import { isTidemarkError } from '../src/errors.js';
import { parseChaosArgs } from './options.js';
import { formatReport } from './report.js';
import { runChaos } from './run.js';

/** `npm run chaos -- [--events N] [--keys K] [--seed S] [--json]`; exit code 1 when an invariant fails. */
try {
  const options = parseChaosArgs(process.argv.slice(2));
  const report = await runChaos(options, {
    onStep: options.json ? undefined : (message) => console.error(`[chaos] ${message}`),
  });
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
} catch (error) {
  console.error(isTidemarkError(error) ? `${error.code}: ${error.message}` : error);
  process.exitCode = 2;
}
