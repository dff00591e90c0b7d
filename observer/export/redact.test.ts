import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { encodedForms, KnownSecrets, REDACTED } from './redact.ts';

/**
 * The obvious way, by other means: every character an occurrence of a form covers is marked, and each run of
 * marked characters becomes one `REDACTED`.
 */
function referenceScrub(text: string, forms: readonly string[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const form of forms) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
      covered.fill(true, at, at + form.length);
    }
  }
  let out = '';
  for (let index = 0; index < text.length; index++) {
    if (!covered[index]) out += text[index];
    else if (index === 0 || !covered[index - 1]) out += REDACTED;
  }
  return out;
}

const words = ['token', 'result', ' ', '\n', 'ok', '{"a":', 'é', '🙂', '%2F', '=='];

/** Text with some of `forms` (whole or cut short) among ordinary words. */
function textWith(forms: readonly string[], seed: number): string {
  let state = seed;
  const next = (bound: number) => (state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) % bound;
  const parts: string[] = [];
  for (let index = 0; index < 40; index++) {
    const form = forms[next(forms.length)]!;
    const pick = next(10);
    if (pick === 0) parts.push(form);
    else if (pick === 1) parts.push(form.slice(0, 7 + next(form.length - 7)));
    else parts.push(words[next(words.length)]!);
  }
  return parts.join('');
}

for (const count of [3, 100]) {
  void test(`with ${count} known secrets every form is found and removed, as searching each form would`, () => {
    const secrets = new KnownSecrets();
    const raw = Array.from({ length: count }, () => randomBytes(18).toString('base64url'));
    for (const secret of raw) secrets.remember(secret);
    const forms = raw.flatMap(encodedForms);
    for (let seed = 1; seed <= 200; seed++) {
      const text = textWith(forms, seed);
      const scrubbed = secrets.scrubKnown(text);
      assert.equal(scrubbed, referenceScrub(text, forms), `seed ${seed}`);
      for (const form of forms) assert.equal(scrubbed.includes(form), false);
      const present = raw.filter((secret) => encodedForms(secret).some((form) => text.includes(form)));
      assert.deepEqual(secrets.findIn(text).sort(), present.sort());
    }
  });
}

void test('overlapping secrets are removed as one; forgotten secrets are no longer searched', () => {
  const secrets = new KnownSecrets();
  secrets.remember('abcdefgh12');
  secrets.remember('gh12345678');
  assert.equal(secrets.scrubKnown('x abcdefgh12345678 y'), `x ${REDACTED} y`);

  const many = new KnownSecrets();
  const first = 'first-secret-0000';
  many.remember(first);
  for (let index = 0; index < 600; index++) many.remember(`later-secret-${index}`);
  assert.equal(many.scrubKnown(`a ${first} b`), `a ${first} b`);
  assert.equal(many.scrubKnown('a later-secret-599 b'), `a ${REDACTED} b`);
});
