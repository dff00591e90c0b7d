// Bundles the instrumentation with the OpenTelemetry SDK pieces it starts, so that installing it brings two
// packages (the OTel API and logs API, which must stay shared with the application's own telemetry) instead
// of the SDK's whole tree, and `--import` loads a few files instead of hundreds of modules.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync(new URL('dist/', import.meta.url), { recursive: true, force: true });

const result = await build({
  absWorkingDir: import.meta.dirname,
  entryPoints: ['index.ts', 'register.ts', 'sdk-loader-hooks.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  conditions: ['import', 'module'],
  // Shared with the host application: one global tracer/logger provider registry per process.
  external: ['@opentelemetry/api', '@opentelemetry/api-logs'],
  // CommonJS inside the bundle (e.g. protobuf helpers) still gets a real `require` for Node built-ins.
  banner: {
    js: "import { createRequire as __mcpwatchCreateRequire } from 'node:module';\nconst require = __mcpwatchCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});

const bundled = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) bundled.add(match[1]);
}
console.log(`bundled into @mcpwatch/instrumentation: ${[...bundled].sort().join(', ')}`);
