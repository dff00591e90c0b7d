/*
 * Module customization hooks (`module.register`), run on Node's loader thread: after the ES module build of an
 * MCP SDK `Server` is loaded, one line is appended that hands the class to the main thread's callback, which
 * patches its prototype. Every copy of the SDK is seen, including duplicates deeper in `node_modules`.
 */
import type { LoadHook } from 'node:module';

/** Must equal `SERVER_CLASS_CALLBACK` in `sdk-hooks.ts` (kept apart: this module runs on another thread). */
const CALLBACK = 'mcpwatch.sdk.server-class';
const SDK_SERVER_MODULE = /\/dist\/esm\/server\/index\.js$/;
const SERVER_CLASS = /\bexport class Server extends Protocol\b/;

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context);
  if (!SDK_SERVER_MODULE.test(url) || loaded.format !== 'module' || loaded.source === undefined) return loaded;
  const source =
    typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  if (!SERVER_CLASS.test(source)) return loaded;
  return { ...loaded, source: `${source}\n;globalThis[Symbol.for(${JSON.stringify(CALLBACK)})]?.(Server);\n` };
};
