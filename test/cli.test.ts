import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAlert } from '../contracts/parse.ts';
import { INSTRUMENTATION_VERSION } from '../observer/telemetry.ts';
import { loadOcsfSchema } from './support/ocsf-schema.ts';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const FIXTURE = fileURLToPath(
  new URL(
    '../detectors/rules/fixtures/session-reuse-across-users/positive/stolen-session-id-second-principal.jsonl',
    import.meta.url,
  ),
);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function mcpwatch(...args: string[]): Promise<Run> {
  // The runner exports KAFKA_BROKERS; these runs must see only what each test gives them.
  const { KAFKA_BROKERS: _brokers, ...env } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, ...args], {
      timeout: 120_000,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('mcpwatch CLI', () => {
  test("--version and the telemetry scope name the packages' version, whoever runs npm", async () => {
    const root = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const instrumentation = JSON.parse(
      await readFile(new URL('../instrumentation/package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    assert.equal(instrumentation.version, root.version);
    assert.equal(INSTRUMENTATION_VERSION, root.version);
    const { KAFKA_BROKERS: _brokers, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--version'], {
      encoding: 'utf8',
      env: { ...env, npm_package_version: '9.9.9-some-other-project' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), root.version);
  });

  test('every subcommand has --help', async () => {
    for (const command of [
      'serve',
      'collector',
      'detectors',
      'proxy',
      'proxy approve',
      'replay',
      'demo',
      'validate',
      'config schema',
    ]) {
      const run = await mcpwatch(...command.split(' '), '--help');
      assert.equal(run.code, 0, `${command} --help: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`Usage: mcpwatch ${command}`));
    }
  });

  test('a bad option value fails with the option and what was expected', async () => {
    const run = await mcpwatch('serve', '--port', '99999');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /--port.*expected a port number from 0 to 65535/);
    const missing = await mcpwatch('detectors');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--brokers/);
  });

  test('proxy refuses a non-loopback address without a token, and two servers at once', async () => {
    const exposed = await mcpwatch('proxy', '--upstream', 'http://127.0.0.1:9/mcp', '--listen', '0.0.0.0:4330');
    assert.notEqual(exposed.code, 0);
    assert.match(
      exposed.stderr,
      /CONFIG_INVALID: proxy: --listen 0\.0\.0\.0:4330 is beyond loopback: it needs --auth-token/,
    );
    const both = await mcpwatch('proxy', '--upstream', 'http://127.0.0.1:9/mcp', '--', 'node', 'server.js');
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /give either --upstream <url> or -- <command\.\.\.>, not both/);
    const pins = join(await mkdtemp(join(tmpdir(), 'mcpwatch-pins-')), 'pins.json');
    const nothing = await mcpwatch('proxy', 'approve', 'some-server', '--pins', pins);
    assert.notEqual(nothing.code, 0);
    assert.match(nothing.stderr, /INPUT_INVALID: nothing to approve: no tool of server "some-server" is withheld/);
  });

  test('replay writes the alerts of recorded events; a bad config fails naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpwatch-cli-'));
    const alertsOut = join(dir, 'alerts.jsonl');
    const run = await mcpwatch('replay', FIXTURE, '--alerts-out', alertsOut);
    assert.equal(run.code, 0, run.stderr);
    const alerts = (await readFile(alertsOut, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    assert.ok(alerts.length > 0);
    for (const alert of alerts) assert.ok(parseAlert(alert).ok);
    assert.ok(alerts.some((alert) => (alert as { ruleId: string }).ruleId === 'session-reuse-across-users'));

    const badConfig = join(dir, 'bad.yaml');
    await writeFile(badConfig, 'engine:\n  allowedLatenessMs: -5\n');
    const bad = await mcpwatch('replay', FIXTURE, '--config', badConfig);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /CONFIG_INVALID: .*engine\.allowedLatenessMs/);
  });

  test('replay --format ocsf prints OCSF Detection Findings that validate against the OCSF schema', async () => {
    const schema = loadOcsfSchema();
    const run = await mcpwatch('replay', FIXTURE, '--format', 'ocsf');
    assert.equal(run.code, 0, run.stderr);
    const records = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { class_uid: number; finding_info: { analytic: { uid: string } } });
    assert.ok(records.length > 0);
    for (const record of records) assert.deepEqual(schema.validate(record), []);
    assert.ok(records.some((record) => record.finding_info.analytic.uid === 'session-reuse-across-users'));
    const bad = await mcpwatch('replay', FIXTURE, '--format', 'cef');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--format.*mcpwatch, ocsf/);
  });

  test('config schema prints JSON Schema with every rule section', async () => {
    const run = await mcpwatch('config', 'schema');
    assert.equal(run.code, 0, run.stderr);
    const schema = JSON.parse(run.stdout) as { properties: { rules: { properties: Record<string, unknown> } } };
    assert.ok('tool-definition-drift' in schema.properties.rules.properties);
  });

  test('validate passes on the shipped dashboards and fails on a broken copy', async () => {
    const run = await mcpwatch('validate');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /All dashboards, rules and queries are valid/);
    // The built CLI in a checkout still checks the checkout's sources, not its own copy in dist/.
    const built = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)), 'validate'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(built.status, 0, built.stderr);
    assert.equal(
      built.stderr.split('\n')[0],
      `Validating ${fileURLToPath(new URL('../dashboards/', import.meta.url))}`,
    );
    const empty = await mkdtemp(join(tmpdir(), 'mcpwatch-validate-'));
    const broken = await mcpwatch('validate', empty);
    assert.notEqual(broken.code, 0);
  });
});
