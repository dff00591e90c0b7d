import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findHiddenCharacters, hiddenClassOf, mayHide } from './unicode.ts';

void test('the quick check lets every code point through that has a hidden class', () => {
  for (let cp = 0; cp <= 0x10ffff; cp += 1) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are no code points
    if (hiddenClassOf(cp) !== undefined) assert.ok(mayHide(String.fromCodePoint(cp)), `U+${cp.toString(16)}`);
  }
});

void test('hidden characters are found in otherwise plain text, and plain text has none', () => {
  assert.equal(findHiddenCharacters({ location: 'd', text: 'Reads a file. Accents: café, 文件.' }), undefined);
  assert.deepEqual(findHiddenCharacters({ location: 'd', text: 'Reads\u200b a file\u001b[2J' }), {
    location: 'd',
    counts: { 'zero-width': 1, 'ansi-escape': 1 },
    codePoints: ['U+200B', 'U+001B'],
  });
});
