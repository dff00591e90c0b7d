import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DETECTIONS_DOC, renderDetectionsDoc } from './generate-docs.ts';
import { RULES } from './index.ts';

void test('docs/detections.md is generated from the current rules and measured figures (npm run docs:detections)', async () => {
  const rendered = await renderDetectionsDoc();
  for (const rule of RULES) assert.ok(rendered.includes(`## ${rule.meta.id}\n`), rule.meta.id);
  for (const rule of RULES)
    assert.match(
      rendered,
      new RegExp(`^\\| \`${rule.meta.id}\` +\\| +\\d+ +\\| +\\d+ +\\|`, 'm'),
      `${rule.meta.id}'s figures`,
    );
  assert.equal(readFileSync(DETECTIONS_DOC, 'utf8'), rendered);
});
