import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { GENERATED_DIR, generatedFiles } from './generate.ts';

test('generated contract files are up to date (run `npm run generate` when this fails)', async () => {
  for (const [name, expected] of Object.entries(generatedFiles())) {
    const committed = await readFile(GENERATED_DIR + name, 'utf8').catch(() => '(missing)');
    assert.equal(committed, expected, `contracts/generated/${name} is stale`);
  }
});
