/*
 * Module customization hooks: after the ES module that declares an MCP SDK `Server` class is loaded, one line
 * is appended that hands the class to the main thread's callback, which patches its prototype. Every copy of a
 * supported SDK is seen, including duplicates deeper in `node_modules`. `loadSync` runs in-thread under
 * `module.registerHooks` (Node >= 22.15 / 23.5); `load` on the loader thread under `module.register`.
 */
import { fileURLToPath } from 'node:url';
import type { LoadFnOutput, LoadHook, LoadHookSync } from 'node:module';
import { serverClassCandidate, withServerClassCallback } from './sdk-hooks-modules.ts';

function transformed(url: string, loaded: LoadFnOutput): LoadFnOutput {
  if (loaded.format !== 'module' || loaded.source === undefined || !url.startsWith('file:')) return loaded;
  if (!url.includes('/dist/')) return loaded;
  // Decided on the path first: only an SDK file that may declare `Server` has its source read as text.
  const file = serverClassCandidate(fileURLToPath(url).replaceAll('\\', '/'));
  if (file === undefined) return loaded;
  const source =
    typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  const patched = withServerClassCallback(file, source);
  return patched === undefined ? loaded : { ...loaded, source: patched };
}

export const load: LoadHook = async (url, context, nextLoad) => transformed(url, await nextLoad(url, context));

/** The synchronous variant for `module.registerHooks`. */
export const loadSync: LoadHookSync = (url, context, nextLoad) => transformed(url, nextLoad(url, context));
