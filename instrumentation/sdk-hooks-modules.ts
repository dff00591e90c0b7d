/*
 * Which MCP SDK packages are instrumented, in which versions, and where each keeps its `Server` class: the
 * declared module definitions that the load hooks (`sdk-loader-hooks.ts`, possibly on the loader thread) and
 * the eager patch (`sdk-hooks.ts`) share. A package outside its range is left alone and reported once.
 */
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';

export interface SdkModuleDefinition {
  /** The `name` in the package's own `package.json` (an npm alias installs it under another folder). */
  name: string;
  /** Inclusive lower and exclusive upper bound, `[major, minor, patch]`. */
  versions: { from: readonly number[]; below: readonly number[] };
  /** The ES module file, relative to the package root, that declares the `Server` class. */
  esmFile: RegExp;
  /** The declaration in that file; the appended line refers to the class by this binding name. */
  serverClass: RegExp;
  /** What the application imports; resolved from the entry script for the eager patch. */
  entry: string;
  /** The ES module build of `entry`, from the path `require.resolve(entry)` gives (the CommonJS build). */
  esmOf: (cjsPath: string) => string;
}

export const SDK_MODULES: readonly SdkModuleDefinition[] = [
  {
    name: '@modelcontextprotocol/sdk',
    versions: { from: [1, 12, 0], below: [2, 0, 0] },
    esmFile: /^dist\/esm\/server\/index\.js$/,
    serverClass: /\bexport class Server extends Protocol\b/,
    entry: '@modelcontextprotocol/sdk/server/index.js',
    esmOf: (cjsPath) => cjsPath.replace(`${sep}dist${sep}cjs${sep}`, `${sep}dist${sep}esm${sep}`),
  },
  {
    // 2.x ships one bundle with hashed chunk names: the chunk that declares `Server` is found by its content.
    name: '@modelcontextprotocol/server',
    versions: { from: [2, 0, 0], below: [3, 0, 0] },
    esmFile: /^dist\/[\w-]+\.mjs$/,
    serverClass: /^var Server = class extends Protocol\b/m,
    entry: '@modelcontextprotocol/server',
    esmOf: (cjsPath) => cjsPath.replace(/\.cjs$/, '.mjs'),
  },
];

/** Must equal in every thread: the global the appended line calls with the class. */
export const SERVER_CLASS_CALLBACK = 'mcpwatch.sdk.server-class';

function parseVersion(version: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` (a release or prerelease of it) is in the definition's range. */
export function inRange(definition: SdkModuleDefinition, version: string): boolean {
  const parsed = parseVersion(version);
  return (
    parsed !== undefined &&
    compare(parsed, definition.versions.from) >= 0 &&
    compare(parsed, definition.versions.below) < 0
  );
}

export interface SdkFile {
  definition: SdkModuleDefinition;
  version: string;
  supported: boolean;
  /** Path of the file inside its package, `/`-separated. */
  inPackage: string;
}

const packages = new Map<string, { name: string; version: string } | null>();

/** The package of an SDK's build output (`…/<package>/dist/…`), or undefined for any other file. */
export function sdkFileOf(path: string): SdkFile | undefined {
  const at = path.lastIndexOf('/dist/');
  if (at < 0) return undefined;
  const root = path.slice(0, at);
  let info = packages.get(root);
  if (info === undefined) {
    try {
      const json = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { name?: unknown; version?: unknown };
      info =
        typeof json.name === 'string' && typeof json.version === 'string'
          ? { name: json.name, version: json.version }
          : null;
    } catch {
      info = null; // No package.json there: not an SDK build.
    }
    packages.set(root, info);
  }
  if (info === null) return undefined;
  const definition = SDK_MODULES.find((candidate) => candidate.name === info.name);
  if (definition === undefined) return undefined;
  return {
    definition,
    version: info.version,
    supported: inRange(definition, info.version),
    inPackage: path.slice(at + 1),
  };
}

/** The SDK file at `path` when, by its place in a supported SDK package, it may declare the `Server` class. */
export function serverClassCandidate(path: string): SdkFile | undefined {
  const file = sdkFileOf(path);
  return file !== undefined && file.supported && file.definition.esmFile.test(file.inPackage) ? file : undefined;
}

/**
 * The ES module source of a `serverClassCandidate` with one line appended that hands the SDK's `Server` class
 * to the main thread's callback, or undefined when the source declares no `Server` class.
 */
export function withServerClassCallback(file: SdkFile, source: string): string | undefined {
  if (!file.definition.serverClass.test(source)) return undefined;
  return `${source}\n;globalThis[Symbol.for(${JSON.stringify(SERVER_CLASS_CALLBACK)})]?.(Server);\n`;
}
