import { createRequire, register } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchServerClass } from './instrument.ts';
import { guard } from '../observer/telemetry.ts';

const SERVER_CLASS_CALLBACK = Symbol.for('mcpwatch.sdk.server-class');
const SDK_SERVER = '@modelcontextprotocol/sdk/server/index.js';

const require = createRequire(import.meta.url);

/** CommonJS: every `require` result that exports the SDK's `Server` class (as a plain value, no getter is run). */
function hookRequire(): void {
  const Module = require('node:module') as { prototype: { require: (this: unknown, id: string) => unknown } };
  const original = Module.prototype.require;
  Module.prototype.require = function (this: unknown, id: string) {
    const exported = original.call(this, id);
    if (typeof exported === 'object' && exported !== null) {
      const server = Object.getOwnPropertyDescriptor(exported, 'Server')?.value as unknown;
      if (typeof server === 'function') guard('patch SDK (require)', () => patchServerClass(server));
    }
    return exported;
  };
}

/**
 * ESM modules the application already linked (a static `import 'mcpwatch/register'` next to the SDK's): the
 * SDK resolvable from the entry script and the working directory is loaded now and patched. `require` of ESM
 * shares the ESM loader's module instances, so the application sees the patched class.
 */
function patchResolvableSdk(): void {
  const bases = [process.argv[1], join(process.cwd(), 'package.json')].filter(
    (base): base is string => base !== undefined,
  );
  const seen = new Set<string>();
  for (const base of bases) {
    let cjsPath: string;
    try {
      cjsPath = createRequire(base).resolve(SDK_SERVER);
    } catch {
      continue; // Not resolvable from there: nothing to patch.
    }
    const esmPath = cjsPath.replace(`${sep}dist${sep}cjs${sep}`, `${sep}dist${sep}esm${sep}`);
    if (seen.has(esmPath)) continue;
    seen.add(esmPath);
    guard('patch SDK (eager)', () => patchServerClass((require(esmPath) as { Server?: unknown }).Server));
  }
}

let hooked = false;

/** Patches every MCP SDK `Server` class the process loads, now or later, by `import` or `require`. */
export function hookSdkModules(): void {
  if (hooked) return;
  hooked = true;
  (globalThis as Record<symbol, unknown>)[SERVER_CLASS_CALLBACK] = (serverClass: unknown) =>
    guard('patch SDK (import)', () => patchServerClass(serverClass));
  hookRequire();
  const here = fileURLToPath(import.meta.url);
  register(new URL(`./sdk-loader-hooks${extname(here)}`, import.meta.url), { parentURL: `file://${dirname(here)}/` });
  patchResolvableSdk();
}
