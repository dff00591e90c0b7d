/**
 * What users install. Packs both packages as `npm publish` would, then:
 *  - neither tarball holds test support, fixtures, stand-ins or tests;
 *  - `@mcpwatch/instrumentation` installed alone into an empty project instruments a server on the official
 *    SDK (`node --import @mcpwatch/instrumentation/register`), and its installed size and package count stay
 *    within the budget of the one import (25 MB, 40 packages);
 *  - the pipeline package's production install is measured beside it;
 *  - every install, and this repository's own tree, holds one version of each `@opentelemetry/*` package.
 * Needs `dist/` (`npm run build`) and the npm registry for the packages' own dependencies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import { waitFor } from './support/wait-for.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const INSTRUMENTATION_BUDGET = { bytes: 25 * 1024 * 1024, packages: 40 };
/** What never ships: tests, test support, fixtures, stand-ins, contract suites. */
const TEST_CODE = /(^|\/)(test|tests|fixtures|testing|support)\/|\.test\.[cm]?[jt]s$|\.contract\.|stand-in/;

function npm(args: string[], cwd: string): string {
  const run = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_fund: 'false' } });
  assert.equal(run.status, 0, `npm ${args.join(' ')} in ${cwd}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

interface PackedFile {
  path: string;
}

function packedFiles(dir: string): string[] {
  const [packed] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], dir)) as [
    { files: PackedFile[] },
  ];
  return packed.files.map((file) => file.path);
}

/** Installed packages (every folder with a package.json under node_modules, nested ones included) and bytes. */
function installedTree(dir: string): { packages: Map<string, Set<string>>; count: number; bytes: number } {
  const packages = new Map<string, Set<string>>();
  let count = 0;
  let bytes = 0;
  const walk = (folder: string, inNodeModules: boolean): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        const isPackage = inNodeModules && !entry.name.startsWith('@') && !entry.name.startsWith('.');
        if (isPackage) {
          try {
            const manifest = JSON.parse(readFileSync(path.join(full, 'package.json'), 'utf8')) as {
              name?: string;
              version?: string;
            };
            if (manifest.name !== undefined && manifest.version !== undefined) {
              count += 1;
              const versions = packages.get(manifest.name) ?? new Set<string>();
              versions.add(manifest.version);
              packages.set(manifest.name, versions);
            }
          } catch {
            // A folder without a manifest (a package's own subfolder named like one): not a package.
          }
        }
        walk(full, entry.name === 'node_modules' || (inNodeModules && entry.name.startsWith('@')));
      } else {
        bytes += statSync(full).size;
      }
    }
  };
  walk(path.join(dir, 'node_modules'), true);
  return { packages, count, bytes };
}

function duplicateOpenTelemetry(packages: Map<string, Set<string>>): string[] {
  return [...packages]
    .filter(([name, versions]) => name.startsWith('@opentelemetry/') && versions.size > 1)
    .map(([name, versions]) => `${name}@${[...versions].sort().join(',')}`);
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

void describe('the packages users install', () => {
  let scratch: string;
  let instrumentationTarball: string;
  let pipelineTarball: string;

  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'mcpwatch-install-'));
    const packed = (dir: string): string => {
      const [result] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], dir)) as [
        { filename: string },
      ];
      return path.join(scratch, result.filename);
    };
    instrumentationTarball = packed(path.join(root, 'instrumentation'));
    pipelineTarball = packed(root);
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  void it('ship no tests, test support, fixtures or stand-ins', () => {
    for (const dir of [root, path.join(root, 'instrumentation')]) {
      const files = packedFiles(dir);
      assert.ok(files.length > 10, `${dir}: ${files.join(', ')}`);
      assert.deepEqual(
        files.filter((file) => TEST_CODE.test(file)),
        [],
      );
    }
  });

  void it('the check finds a second version of an @opentelemetry package nested under another', () => {
    const planted = path.join(scratch, 'planted');
    const manifest = (dir: string, name: string, version: string): void => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version }));
    };
    manifest(path.join(planted, 'node_modules/@opentelemetry/core'), '@opentelemetry/core', '2.12.1');
    manifest(path.join(planted, 'node_modules/@opentelemetry/sdk-logs'), '@opentelemetry/sdk-logs', '0.223.1');
    manifest(
      path.join(planted, 'node_modules/@opentelemetry/sdk-logs/node_modules/@opentelemetry/core'),
      '@opentelemetry/core',
      '2.12.0',
    );
    assert.deepEqual(duplicateOpenTelemetry(installedTree(planted).packages), ['@opentelemetry/core@2.12.0,2.12.1']);
  });

  void it('this repository installs one version of each @opentelemetry package', () => {
    assert.deepEqual(duplicateOpenTelemetry(installedTree(root).packages), []);
  });

  void it('@mcpwatch/instrumentation alone instruments a server on the official SDK, within its budget', async (t) => {
    const project = path.join(scratch, 'server');
    rmSync(project, { recursive: true, force: true });
    npm(['init', '-y'], (spawnSync('mkdir', ['-p', project]), project));
    npm(['install', '--no-audit', instrumentationTarball], project);
    const alone = installedTree(project);
    t.diagnostic(`@mcpwatch/instrumentation installed alone: ${mb(alone.bytes)}, ${alone.count} packages`);
    assert.deepEqual(duplicateOpenTelemetry(alone.packages), []);
    assert.ok(alone.bytes <= INSTRUMENTATION_BUDGET.bytes, `${mb(alone.bytes)} installed`);
    assert.ok(alone.count <= INSTRUMENTATION_BUDGET.packages, `${alone.count} packages installed`);

    // The user's own server: the official SDK beside the one import.
    const sdkVersion = (
      JSON.parse(readFileSync(path.join(root, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    npm(['install', '--no-audit', `@modelcontextprotocol/sdk@${sdkVersion}`], project);
    writeFileSync(
      path.join(project, 'server.mjs'),
      [
        "import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';",
        "import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';",
        "const server = new McpServer({ name: 'installed', version: '1.0.0' });",
        "server.tool('echo', 'Echoes.', () => ({ content: [{ type: 'text', text: 'echoed' }] }));",
        'await server.connect(new StdioServerTransport());',
      ].join('\n'),
    );
    const receiver = new OtlpReceiver();
    const endpoint = await receiver.start();
    try {
      const client = new Client({ name: 'install-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: ['--import', '@mcpwatch/instrumentation/register', 'server.mjs'],
          cwd: project,
          env: {
            PATH: process.env['PATH'] ?? '',
            OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
            OTEL_SERVICE_NAME: 'installed-server',
            OTEL_BLRP_SCHEDULE_DELAY: '50',
            OTEL_BSP_SCHEDULE_DELAY: '50',
          },
        }),
      );
      await client.listTools();
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: {} })).content, [
        { type: 'text', text: 'echoed' },
      ]);
      await client.close();
      await waitFor('the call and catalog events of the installed server', () => {
        const kinds = new Set(receiver.logRecords().map((record) => record.eventName));
        return kinds.has('mcpwatch.call') && kinds.has('mcpwatch.tool_catalog');
      });
      assert.ok(receiver.spans().some((span) => span.name === 'tools/call echo'));
    } finally {
      await receiver.stop();
    }
  });

  void it('the pipeline package installs with production dependencies only', (t) => {
    const project = path.join(scratch, 'pipeline');
    spawnSync('mkdir', ['-p', project]);
    npm(['init', '-y'], project);
    npm(['install', '--no-audit', '--omit=dev', instrumentationTarball, pipelineTarball], project);
    const tree = installedTree(project);
    t.diagnostic(`mcpwatch (pipeline) production install: ${mb(tree.bytes)}, ${tree.count} packages`);
    assert.deepEqual(duplicateOpenTelemetry(tree.packages), []);
    const help = spawnSync(process.execPath, [path.join(project, 'node_modules/mcpwatch/dist/cli/main.js'), '--help'], {
      encoding: 'utf8',
    });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /serve/);

    // `validate` checks the installed copy; the Kusto language service it compiles with is not installed with it.
    const cli = path.join(project, 'node_modules/mcpwatch/dist/cli/main.js');
    const validate = () => spawnSync(process.execPath, [cli, 'validate'], { cwd: project, encoding: 'utf8' });
    const withoutKusto = validate();
    assert.equal(withoutKusto.status, 1, withoutKusto.stderr);
    assert.match(withoutKusto.stderr, /npm install @kusto\/language-service-next/);
    const [kusto] = JSON.parse(
      npm(
        ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch],
        path.join(root, 'node_modules/@kusto/language-service-next'),
      ),
    ) as [{ filename: string }];
    npm(['install', '--no-audit', '--omit=dev', path.join(scratch, kusto.filename)], project);
    const validated = validate();
    assert.equal(validated.status, 0, validated.stderr);
    assert.equal(
      validated.stderr.split('\n')[0],
      `Validating ${path.join(project, 'node_modules/mcpwatch/dist/dashboards')}${path.sep}`,
    );
    assert.match(validated.stderr, /All dashboards, rules and queries are valid/);
  });
});
