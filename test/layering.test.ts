/**
 * The layering rules in `.dependency-cruiser.cjs` (which `npm run lint` applies to the tree) bite: a wrong-way
 * import, test support in production code and a cycle, planted in a scratch tree under the same rules, fail.
 * README's layout table, which explains the layers to a newcomer, names the tree folder for folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string, ...targets: string[]) {
  return spawnSync(depcruise, ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', ...targets], {
    cwd,
    encoding: 'utf8',
  });
}

function scratchTree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpwatch-layers-'));
  copyFileSync(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  copyFileSync(path.join(root, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  return dir;
}

void test('a contract importing a detector fails the check', () => {
  const dir = scratchTree({
    'contracts/alert.ts': "import { run } from '../detectors/engine.ts';\nexport const alert = run;\n",
    'detectors/engine.ts': 'export const run = 1;\n',
  });
  try {
    const run = cruise(dir, 'contracts', 'detectors');
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /contracts-imports-only-below: contracts\/alert\.ts → detectors\/engine\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('production code importing test support, and a cycle, fail the check', () => {
  const dir = scratchTree({
    'collector/a.ts':
      "import { b } from './b.ts';\nimport { kafka } from '../test/support/kafka.ts';\nexport const a = b + kafka;\n",
    'collector/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    'test/support/kafka.ts': 'export const kafka = 1;\n',
  });
  try {
    const run = cruise(dir, 'collector', 'test');
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /no-test-support-in-production: collector\/a\.ts → test\/support\/kafka\.ts/);
    assert.match(run.stdout, /no-cycles: collector\/a\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("README's layout table names every folder of the tree, top two levels, and nothing else", () => {
  const tracked = spawnSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' });
  assert.equal(tracked.status, 0, tracked.stderr);
  const folders = new Map<string, Set<string>>();
  for (const file of tracked.stdout.split('\n').filter((line) => line.includes('/'))) {
    const [top, second, ...rest] = file.split('/');
    const children = folders.get(top!) ?? new Set<string>();
    if (rest.length > 0) children.add(`${second!}/`);
    folders.set(top!, children);
  }
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Layout\n'), readme.indexOf('\n## ', readme.indexOf('## Layout\n') + 1));
  const rows = new Map<string, string>();
  for (const line of table.split('\n').filter((row) => row.startsWith('| `'))) {
    const [, paths, text] = line.split('|');
    for (const [, name] of paths!.matchAll(/`([^`]+)\/`/g)) rows.set(name!, text!);
  }
  assert.deepEqual([...rows.keys()].sort(), [...folders.keys()].sort());
  for (const [top, children] of folders) {
    for (const child of children) assert.ok(rows.get(top)!.includes(`\`${child}\``), `${top}/${child} is not named`);
  }
});
