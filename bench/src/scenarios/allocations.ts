// Why this file exists: a diagnostic beside the timed rows — what a non-streamed call allocates,
// garbage included, bare and through Sluice. Timings on a busy VM move by microseconds between runs
// and a median skips the garbage-collection pauses that allocation causes; V8's sampling heap
// profiler, told to keep the samples of collected objects, counts every byte allocated and says
// which code allocated it. No target: the row shows where per-call cost comes from.
import { Session } from 'node:inspector/promises';
import { withTrace } from '@openai/agents';
import { createFakeLanguageModel, createFakeOpenAI } from '../fakes.ts';
import type { Row } from '../rows.ts';
import { agentsVariant, aiSdkVariant, openAIVariant, type OpsVariant, type SdkOps } from '../sdk-ops.ts';
import { createSetup, SETUP_LABEL } from '../setups.ts';

export interface AllocationsConfig {
  warmup: number;
  /** Calls sampled per variant. */
  calls: number;
  /** Bytes between samples (V8 picks each sample at a random point of a Poisson process with this mean). */
  samplingInterval: number;
}

interface SamplingNode {
  callFrame: { url: string; functionName: string };
  selfSize: number;
  children: SamplingNode[];
}

/** Who allocated: a package (`openai`, `@opentelemetry/core`), Sluice's own folders, Node, or V8 built-ins. */
function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName === '' ? '(V8)' : `${functionName} (built-in)`;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + 'node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  if (url.startsWith('node:')) return 'node';
  const match = /\/(core|plugins\/[^/]+|bench)\/src\//.exec(url);
  return match ? `sluice ${match[1]}` : 'other';
}

/** Bytes allocated per call, by owner. */
async function sample(session: Session, ops: SdkOps, config: AllocationsConfig, between: () => void): Promise<Map<string, number>> {
  for (let i = 0; i < config.warmup; i++) await ops.call();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: config.samplingInterval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < config.calls; i++) {
    await ops.call();
    if (i % 500 === 499) between();
  }
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const owners = new Map<string, number>();
  const walk = (node: SamplingNode) => {
    if (node.selfSize > 0) {
      const owner = ownerOf(node.callFrame.url, node.callFrame.functionName);
      owners.set(owner, (owners.get(owner) ?? 0) + node.selfSize / config.calls);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head as unknown as SamplingNode);
  return owners;
}

const total = (owners: Map<string, number>) => [...owners.values()].reduce((sum, bytes) => sum + bytes, 0);

/** The owners that allocate the most more than in `base`, as `owner +X.X KB`. */
function topGrowth(owners: Map<string, number>, base: Map<string, number>, count: number): string {
  return [...owners]
    .map(([owner, bytes]) => [owner, bytes - (base.get(owner) ?? 0)] as const)
    .filter(([, grown]) => grown > 50)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([owner, grown]) => `${owner} +${(grown / 1024).toFixed(1)} KB`)
    .join(', ');
}

export async function allocationRows(config: AllocationsConfig): Promise<Row[]> {
  const fake = createFakeOpenAI();
  const model = createFakeLanguageModel();
  const setups = { none: createSetup('none'), full: createSetup('full') };
  const tidy = () => setups.full.tidy();
  const sdks: Array<[id: string, label: string, make: (variant: OpsVariant) => SdkOps]> = [
    ['openai', 'openai chat.completions.create', (v) => openAIVariant(fake, v)],
    ['agents', 'Agents SDK Responses model getResponse', (v) => agentsVariant(fake, v)],
    ['ai-sdk', 'AI SDK generateText', (v) => aiSdkVariant(model, v)],
  ];
  const session = new Session();
  session.connect();
  const rows: Row[] = [];
  try {
    await session.post('HeapProfiler.enable');
    for (const [id, label, make] of sdks) {
      const measured = await withTrace('bench', async () => {
        const out: Array<[name: 'bare' | 'none' | 'full', owners: Map<string, number>]> = [];
        for (const [name, variant] of [['bare', 'bare'], ['none', setups.none], ['full', setups.full]] as Array<['bare' | 'none' | 'full', OpsVariant]>) {
          out.push([name, await sample(session, make(variant), config, tidy)]);
        }
        return out;
      });
      const bare = measured[0]![1];
      const bareTotal = total(bare) / 1024;
      let previous = bare;
      for (const [name, owners] of measured) {
        const kb = total(owners) / 1024;
        const row: Row = {
          id: `alloc.${id}.${name}`,
          group: 'allocations',
          scenario: `${label}, ${name === 'bare' ? 'bare' : SETUP_LABEL[name]}`,
          n: config.calls,
          samples: config.calls,
          unit: 'KB/call',
          median: kb,
          p99: kb,
          spread: 0,
        };
        if (name !== 'bare') {
          row.baseline = `alloc.${id}.bare`;
          row.baselineMedian = bareTotal;
          row.ratio = kb / bareTotal;
          row.added = kb - bareTotal;
          row.note = `more than ${name === 'none' ? 'bare' : 'without plugins'}: ${topGrowth(owners, previous, 4) || 'nothing above 50 B'}`;
        }
        rows.push(row);
        previous = owners;
      }
    }
  } finally {
    await session.post('HeapProfiler.disable');
    session.disconnect();
    for (const setup of Object.values(setups)) await setup.close();
  }
  return rows;
}
