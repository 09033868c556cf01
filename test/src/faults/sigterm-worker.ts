// Why this file exists: the graceful-shutdown test needs a real process with model calls in flight
// that receives SIGTERM. It streams CALLS calls through Vela, prints `ready` once every stream has
// produced its first chunk, and shuts down gracefully on SIGTERM.
import { createPipeline, installGracefulShutdown } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import { createVelaClientFromEnvironment, vela } from '@sluice/plugin-vela';
import OpenAI from 'openai';

const calls = Number(process.env.CALLS);
const sluice = createPipeline({ plugins: [vela({ client: createVelaClientFromEnvironment(process.env), outbox: process.env.OUTBOX! })] });
installGracefulShutdown(sluice, { drainTimeoutMs: Number(process.env.DRAIN_MS) });
const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), sluice, { scope: { customerTenantId: process.env.TENANT!, delegationId: process.env.DELEGATION! } });

let started = 0;
const outcomes: string[] = [];
for (let i = 0; i < calls; i++) {
  void (async () => {
    try {
      const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: `call ${i}` }], stream: true });
      let first = true;
      for await (const _chunk of stream) {
        if (first && ++started === calls) process.stdout.write('ready\n');
        first = false;
      }
      outcomes.push('finished');
    } catch {
      outcomes.push('stopped');
    }
  })();
}
