import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DETECTIONS_DOC, renderDetectionsDoc } from './generate-docs.ts';
import { RULES } from './index.ts';

void test('docs/detections.md is generated from the current rules (run detectors/rules/generate-docs.ts)', async () => {
  const rendered = await renderDetectionsDoc();
  for (const rule of RULES) assert.ok(rendered.includes(`## ${rule.meta.id}\n`), rule.meta.id);
  assert.equal(readFileSync(DETECTIONS_DOC, 'utf8'), rendered);
});
