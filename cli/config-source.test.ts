import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { testRules } from '../test/detectors-test-rule.ts';
import { configFromEnv, mergeConfig } from './config-source.ts';
import { loadDetectorsConfig } from './detectors-config.ts';

void describe('configuration sources', () => {
  void test('variables override the file, key path by key path', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-config-'));
    try {
      const file = path.join(dir, 'detectors.yaml');
      await writeFile(
        file,
        [
          'engine:',
          '  suppressionMs: 1000',
          'environment:',
          '  knownServers: [files, git]',
          'sinks:',
          '  - type: file',
          '    path: /tmp/alerts.jsonl',
        ].join('\n'),
      );
      const config = await loadDetectorsConfig(testRules, {
        path: file,
        env: { MCPWATCH_CONFIG__engine__allowedLatenessMs: '5000', MCPWATCH_CONFIG__groupId: 'blue' },
      });
      assert.equal(config.engine.suppressionMs, 1000);
      assert.equal(config.engine.allowedLatenessMs, 5000);
      assert.equal(config.groupId, 'blue');
      assert.deepEqual(config.environment.knownServers, ['files', 'git']);
      assert.deepEqual(config.sinks, [{ type: 'file', path: '/tmp/alerts.jsonl' }]);
      await writeFile(file, 'engine: [unclosed');
      await assert.rejects(loadDetectorsConfig(testRules, { path: file, env: {} }), /is not valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('variables cannot reach the prototype', () => {
    assert.throws(() => configFromEnv({ MCPWATCH_CONFIG____proto____x: '1' }), /reserved key/);
    assert.deepEqual(mergeConfig({ a: { b: 1, c: 2 } }, { a: { b: 3 } }), { a: { b: 3, c: 2 } });
  });
});
