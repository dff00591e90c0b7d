/**
 * Removing known secrets from exported text, as the observer does for every string it exports once it has seen
 * a credential: `KnownSecrets.scrubKnown` against searching each known form on its own (the obvious way, and
 * what it does itself while few forms are known), for few and many known secrets.
 */
import { randomBytes } from 'node:crypto';
import { encodedForms, KnownSecrets } from '../observer/export/redact.ts';
import { measure, printTable } from './harness.ts';

const STRINGS_PER_RUN = 20_000;

function eachFormSearched(forms: readonly string[], text: string): number {
  let found = 0;
  for (const form of forms) if (text.includes(form)) found++;
  return found;
}

export default async function redactBench(): Promise<void> {
  for (const known of [1, 16, 512]) {
    const secrets = new KnownSecrets();
    const raw = Array.from({ length: known }, () => randomBytes(24).toString('base64url'));
    for (const secret of raw) secrets.remember(secret);
    const forms = raw.flatMap(encodedForms);
    for (const length of [100, 2_000]) {
      const text = 'The quick brown fox jumps over the lazy dog; result: ok. '.repeat(40).slice(0, length);
      const rows = [
        await measure({
          name: 'each form searched',
          runs: 5,
          run: () => {
            let found = 0;
            for (let index = 0; index < STRINGS_PER_RUN; index++) found += eachFormSearched(forms, text);
            if (found !== 0) throw new Error('the text holds no secret');
            return Promise.resolve({ units: STRINGS_PER_RUN });
          },
        }),
        await measure({
          name: 'KnownSecrets.scrubKnown',
          runs: 5,
          run: () => {
            for (let index = 0; index < STRINGS_PER_RUN; index++) {
              if (secrets.scrubKnown(text) !== text) throw new Error('the text holds no secret');
            }
            return Promise.resolve({ units: STRINGS_PER_RUN });
          },
        }),
      ];
      printTable(
        `known secrets removed from a ${length}-character string, ${known} secret(s) known (${forms.length} forms)`,
        rows,
        { baseline: 'each form searched', unit: 'strings/s' },
      );
    }
  }
}
