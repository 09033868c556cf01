// Why this file exists: the page is React + `useChat`, bundled by Vite. The server serves the built
// files, so a fresh clone must build them on first start, and an edited page must not be served
// stale — this builds when the output is missing or older than the page's sources.
// Run directly to force a build: `node --conditions=sluice:source src/page-build.ts`.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_DIRS = [fileURLToPath(new URL('./page/', import.meta.url)), fileURLToPath(new URL('./shared/', import.meta.url))];
const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url));

/** Where the page is built by default (gitignored). */
export const DEFAULT_PAGE_DIR = fileURLToPath(new URL('../dist/page/', import.meta.url));

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether `outDir` holds a build at least as new as every page source. */
export function isPageBuildFresh(outDir: string = DEFAULT_PAGE_DIR): boolean {
  const index = join(outDir, 'index.html');
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  return SOURCE_DIRS.every((dir) => newestSourceMtime(dir) <= built);
}

/**
 * Builds the page into `outDir` with Vite unless a fresh build is there (or `force`). Builds into a
 * sibling directory first and swaps it in, so a running server never serves half a build.
 */
export async function ensurePageBuilt(options: { outDir?: string; force?: boolean } = {}): Promise<{ outDir: string; built: boolean }> {
  const outDir = options.outDir ?? DEFAULT_PAGE_DIR;
  if (!options.force && isPageBuildFresh(outDir)) return { outDir, built: false };
  const { build } = await import('vite');
  const staging = join(dirname(outDir), `.page-build-${process.pid}-${Date.now()}`);
  try {
    await build({
      configFile: false,
      root: PAGE_ROOT,
      base: '/',
      logLevel: 'warn',
      mode: 'production',
      build: {
        outDir: staging,
        emptyOutDir: true,
        sourcemap: false,
        reportCompressedSize: false,
        rolldownOptions: {
          // swr (under useChat) marks its modules 'use client'; that means nothing in a client-only bundle.
          onwarn(warning, warn) {
            if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
          },
        },
      },
    });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { outDir, built: true };
}

if (import.meta.main) {
  const { outDir } = await ensurePageBuilt({ force: true });
  process.stdout.write(`page built into ${outDir}\n`);
}
