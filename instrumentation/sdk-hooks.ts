import { diag } from '@opentelemetry/api';
import { readFileSync, realpathSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchServerClass } from './instrument.ts';
import { SDK_MODULES, SERVER_CLASS_CALLBACK, sdkFileOf } from './sdk-hooks-modules.ts';
import { loadSync } from './sdk-loader-hooks.ts';
import { guard } from '../observer/telemetry.ts';

const require = createRequire(import.meta.url);

/** CommonJS: every `require` result that exports an SDK's `Server` class (as a plain value, no getter is run). */
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

/** The packages whose `register` entry starts the instrumentation. */
const REGISTER_PACKAGES = new Set(['mcpwatch', '@mcpwatch/instrumentation']);

/** The name in the `package.json` nearest above `file`. */
function packageNameOf(file: string): string | undefined {
  for (let directory = dirname(file), depth = 0; depth < 4; directory = dirname(directory), depth++) {
    try {
      const { name } = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: unknown };
      return typeof name === 'string' ? name : undefined;
    } catch {
      // No package.json here: one level up.
    }
  }
  return undefined;
}

/**
 * Whether the process's first preload (`--import`, `--require`, `-r`, in its arguments or `NODE_OPTIONS`) is a
 * mcpwatch `register`: then nothing of the application is loaded yet and the load hooks see every SDK as it is
 * imported, so none is loaded at start-up.
 */
function preloadedFirst(): boolean {
  const args = [...process.execArgv, ...(process.env['NODE_OPTIONS']?.split(/\s+/) ?? [])];
  let specifier: string | undefined;
  for (let index = 0; index < args.length && specifier === undefined; index++) {
    const arg = args[index] ?? '';
    const flag = /^(--import|--require|-r)(?:=(.*))?$/.exec(arg);
    if (flag !== null) specifier = flag[2] ?? args[index + 1];
  }
  if (specifier === undefined || !/register(\.[cm]?[jt]s)?$/.test(specifier)) return false;
  try {
    const file = realpathSync(createRequire(join(process.cwd(), 'noop.js')).resolve(specifier));
    return /^register\.[cm]?[jt]s$/.test(basename(file)) && REGISTER_PACKAGES.has(packageNameOf(file) ?? '');
  } catch {
    return false; // Not resolvable as we resolve it: assume the application may have loaded an SDK already.
  }
}

/**
 * ESM modules the application already linked (a static `import 'mcpwatch/register'` next to the SDK's): each
 * supported SDK resolvable from the entry script and the working directory is loaded now and patched. `require`
 * of ESM shares the ESM loader's module instances, so the application sees the patched class.
 */
function patchResolvableSdks(): void {
  const bases = [process.argv[1], join(process.cwd(), 'package.json')].filter(
    (base): base is string => base !== undefined,
  );
  const seen = new Set<string>();
  for (const definition of SDK_MODULES) {
    for (const base of bases) {
      let cjsPath: string;
      try {
        cjsPath = createRequire(base).resolve(definition.entry);
      } catch {
        continue; // Not resolvable from there: nothing to patch.
      }
      const esmPath = definition.esmOf(cjsPath);
      if (seen.has(esmPath)) continue;
      seen.add(esmPath);
      const file = sdkFileOf(esmPath.replaceAll('\\', '/'));
      if (file !== undefined && !file.supported) {
        diag.warn(`mcpwatch: ${definition.name} ${file.version} is outside the instrumented range; not patched.`);
        continue;
      }
      guard('patch SDK (eager)', () => patchServerClass((require(esmPath) as { Server?: unknown }).Server));
    }
  }
}

/**
 * Load hooks for `import`: `module.registerHooks` (synchronous, in this thread) where Node has it, else
 * `module.register` (a loader thread).
 */
function hookImports(): void {
  const registerHooks = (nodeModule as { registerHooks?: typeof nodeModule.registerHooks }).registerHooks;
  if (typeof registerHooks === 'function') {
    registerHooks({ load: loadSync });
    return;
  }
  const here = fileURLToPath(import.meta.url);
  nodeModule.register(new URL(`./sdk-loader-hooks${extname(here)}`, import.meta.url), {
    parentURL: `file://${dirname(here)}/`,
  });
}

let hooked = false;

/** Patches every supported MCP SDK `Server` class the process loads, now or later, by `import` or `require`. */
export function hookSdkModules(): void {
  if (hooked) return;
  hooked = true;
  (globalThis as Record<symbol, unknown>)[Symbol.for(SERVER_CLASS_CALLBACK)] = (serverClass: unknown) =>
    guard('patch SDK (import)', () => patchServerClass(serverClass));
  hookRequire();
  hookImports();
  if (!preloadedFirst()) patchResolvableSdks();
}
