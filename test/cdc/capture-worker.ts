// A capture in a process of its own, so a test can SIGKILL it mid-stream.
import { createCapture } from '../../src/cdc/index.js';
import { createProducer } from '../../src/producer/index.js';
import { openPostgres } from '../../src/store/pg/index.js';
import { customerTranslator, context } from './legacy.js';

const config = JSON.parse(process.env.TIDEMARK_CDC_WORKER ?? '{}') as {
  url: string;
  schema: string;
  table: string;
  name: string;
  transactionChunkSize: number;
};
const db = await openPostgres({ connectionString: config.url, max: 2 });
const capture = createCapture({
  name: config.name,
  source: { connectionString: config.url },
  translators: [customerTranslator(config.table)],
  sink: {
    db,
    schema: config.schema,
    producer: createProducer({ context, schema: config.schema, notify: false }),
  },
  snapshot: 'never',
  transactionChunkSize: config.transactionChunkSize,
});
await capture.start();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
capture.failure.catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
