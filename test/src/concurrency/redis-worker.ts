// Why this file exists: the cross-process test needs real separate processes sharing one Redis
// limit. Each one runs this script (`node --conditions=sluice:source redis-worker.ts`): a pipeline
// with `redisConcurrency`, `wrapOpenAI` against the test's fake model, and `CALLS` streamed calls
// at once. It reports over the IPC channel: `started`, one `done` per call, then `finished`.
import { createPipeline } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import { redisConcurrency } from '@sluice/plugin-concurrency/redis';
import OpenAI from 'openai';

/** Messages a worker sends to the test. */
export type WorkerMessage =
  | { type: 'started'; worker: string }
  | { type: 'done'; worker: string; label: string; text: string }
  | { type: 'finished'; worker: string; texts: string[] }
  | { type: 'failed'; worker: string; error: string };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`redis-worker: ${name} is required`);
  return value;
}

const worker = required('WORKER');
const send = (message: WorkerMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
const limiter = redisConcurrency({
  redis: required('REDIS_URL'),
  prefix: required('PREFIX'),
  global: { concurrency: Number(required('GLOBAL_LIMIT')) },
  leaseTtlMs: Number(required('LEASE_TTL_MS')),
});
const sluice = createPipeline({ plugins: [limiter] });
const openai = wrapOpenAI(new OpenAI({ baseURL: required('MODEL_BASE_URL'), apiKey: 'sk-test', maxRetries: 0 }), sluice, {
  scope: { customerTenantId: `tenant_${worker}`, delegationId: `d_${worker}` },
});

async function call(label: string): Promise<string> {
  const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: label }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  void send({ type: 'done', worker, label, text });
  return text;
}

await send({ type: 'started', worker });
try {
  const texts = await Promise.all(Array.from({ length: Number(required('CALLS')) }, (_, i) => call(`${worker} ${i}`)));
  await sluice.close();
  await send({ type: 'finished', worker, texts });
} catch (error) {
  await send({ type: 'failed', worker, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exitCode = 1;
}
process.disconnect?.();
