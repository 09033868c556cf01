// Why this file exists: the outbox restart test needs a second, real process that opens the same
// outbox file and delivers what the first one left; it prints the pending count before and after.
import { createPipeline } from '@sluice/core';
import { createSqliteOutbox, createVelaClientFromEnvironment, vela } from '@sluice/plugin-vela';

const path = process.env.OUTBOX!;
const peek = createSqliteOutbox(path);
const before = peek.pending().length;
peek.close();
const plugin = vela({ client: createVelaClientFromEnvironment(process.env), outbox: path });
const sluice = createPipeline({ plugins: [plugin] });
const { pending: after } = await plugin.flushReports(5_000);
await sluice.close();
process.stdout.write(JSON.stringify({ before, after }));
