import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RULES } from './index.ts';
import { logicOf, readLock, ruleHashes } from './version-lock.ts';

void describe('rule versions', () => {
  void test('a hash ignores comments, formatting and metadata, and sees logic', () => {
    const rule = `export const r = { meta: { id: 'x', version: 1 }, onEvent(s) { return s + 1; } };`;
    assert.equal(
      logicOf(rule),
      logicOf(
        `// a comment\nexport const r = {\n  meta: { id: 'x', version: 1, title: 'reworded' },\n  onEvent(s) {\n    return s + 1; /* why */\n  },\n};`,
      ),
    );
    assert.notEqual(logicOf(rule), logicOf(rule.replace('s + 1', 's + 2')));
  });

  const lock = readLock();
  const hashes = ruleHashes();
  for (const { meta } of RULES) {
    void test(`${meta.id}: version ${meta.version} is locked with its logic`, () => {
      const locked = lock[meta.id];
      assert.ok(locked, `${meta.id} is not in version.lock.json: run npx tsx detectors/rules/version-lock.ts --write`);
      assert.equal(
        meta.version,
        locked.version,
        `${meta.id} is at version ${meta.version}, the lock says ${locked.version}: run npx tsx detectors/rules/version-lock.ts --write`,
      );
      assert.equal(
        hashes[meta.id],
        locked.hash,
        `${meta.id}'s logic (or a lib/ module it imports) changed but its version did not: bump meta.version, then run npx tsx detectors/rules/version-lock.ts --write`,
      );
    });
  }

  void test('the lock names no rule the catalog does not have', () => {
    assert.deepEqual(
      Object.keys(lock).filter((id) => !RULES.some((rule) => rule.meta.id === id)),
      [],
    );
  });
});
