/**
 * What a pattern sees besides the text as served: the spellings attackers use to slip instructions past
 * keyword patterns, undone. Two kinds of view per field, each bounded and built in linear time:
 *
 * - `folded`: NFKC (full-width and mathematical letters become ASCII), diacritics stripped (so one pattern
 *   covers `ignora las instrucciones` and `ignorá`), invisible characters dropped, look-alike letters of
 *   Cyrillic and Greek mapped to Latin, leetspeak inside words undone (`1gn0r3` → `ignore`), identifiers split
 *   into words (`ignore_all_previous_instructions`, `doNotTellTheUser` → words), lower case.
 * - `decoded`: runs of base64, hex or percent-encoding that decode to readable text, each folded as above.
 *   At most `MAX_DECODED_RUNS` runs of at most `MAX_RUN_CHARS` characters per field.
 *
 * A view that equals the text it came from is not returned, so ordinary ASCII prose costs one extra pass.
 */
import { bounded } from './text.ts';

export type ViewKind = 'folded' | 'base64' | 'hex' | 'percent';

export interface TextView {
  kind: ViewKind;
  text: string;
}

/** Encoded runs decoded per field. */
export const MAX_DECODED_RUNS = 8;
/** Characters of one encoded run considered (longer runs are cut, not skipped). */
export const MAX_RUN_CHARS = 4096;
/** Shortest run worth decoding: 16 base64 characters are 12 bytes, about two words. */
const MIN_BASE64_RUN = 16;
const MIN_HEX_RUN = 16;
const MIN_PERCENT_ESCAPES = 4;

/** Look-alike letters of other scripts, by their Latin reading (lower case; the fold lower-cases first). */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ӏ: 'l',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  // Latin look-alikes outside ASCII that NFKC keeps
  ı: 'i',
  ȷ: 'j',
  ɡ: 'g',
  ʀ: 'r',
};

/** Digits and symbols read as letters inside a word that has letters too. */
const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
};

const isAsciiLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/**
 * Code points dropped from the folded view: combining diacritics (after NFKD), and characters that render as
 * nothing: zero-width, joiners, soft hyphen, word joiner, bidi controls, tag characters, variation selectors.
 */
const DROPPED =
  /[\u0300-\u036f]|[\ufe00-\ufe0f]|[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e\u{e0000}-\u{e007f}]/gu;
/** ASCII text is its own NFKC, NFKD and NFC, and has nothing to drop. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Splits identifiers into words: `_`, `-` and `.` between a letter or digit and a letter become spaces, and a
 * lower-case letter or digit followed by an upper-case one gets a space between (`doNotTell` → `do Not Tell`). A
 * dot inside a file name, path (`~/.ssh`) or address is no sentence end, so patterns bounded by sentences read
 * past it.
 */
const IDENTIFIER_BREAK = /(?<=[A-Za-z0-9])[_.-](?=[A-Za-z])|(?<=[/\\])\.(?=[A-Za-z])|(?<=[a-z0-9])(?=[A-Z])/g;

/**
 * One word folded: look-alike letters of other scripts and leetspeak undone, but only in a word that has
 * ASCII letters (a deceptive mix); a word wholly in Cyrillic or Greek is left as it is, so Russian stays Russian.
 * Substitute symbols at the end of a word (`done!`, `$`) are punctuation, not letters.
 */
function foldWord(word: string): string {
  let core = word;
  while (core.length > 0 && '@$!|'.includes(core.at(-1)!)) core = core.slice(0, -1);
  const tail = word.slice(core.length);
  let letters = 0;
  let substitutes = 0;
  let lookAlikes = 0;
  for (const c of core) {
    if (isAsciiLetter(c)) letters += 1;
    else if (LEET[c] !== undefined) substitutes += 1;
    else if (HOMOGLYPHS[c] !== undefined) lookAlikes += 1;
  }
  if (letters === 0 || (substitutes === 0 && lookAlikes === 0)) return word;
  const leet = letters + lookAlikes >= 2 && substitutes > 0 && substitutes <= letters + lookAlikes + 2;
  let out = '';
  for (const c of core) out += HOMOGLYPHS[c] ?? (leet ? (LEET[c] ?? c) : c);
  return out + tail;
}

/** A word: a run of letters, digits and the substitute symbols. */
const WORD = /[\p{L}\p{N}@$!|]+/gu;
/** What `foldWord` can change: substitutes and the look-alike letters (all in U+0131–U+052F). */
const FOLDABLE = /[0-9@$!|\u0131-\u052f]/;

/** Folds word by word. */
function foldWords(text: string): string {
  return FOLDABLE.test(text) ? text.replace(WORD, foldWord) : text;
}

/** The folded reading of a text (see the module comment); linear in its length. */
export function foldText(text: string): string {
  if (!NON_ASCII.test(text)) return foldWords(text.replace(IDENTIFIER_BREAK, ' ').toLowerCase());
  const split = text.normalize('NFKC').replace(IDENTIFIER_BREAK, ' ');
  const plain = split.normalize('NFKD').replace(DROPPED, '');
  return foldWords(plain.normalize('NFC').toLowerCase());
}

/** Whether decoded bytes read as text: valid UTF-8, mostly letters and spaces, few control characters. */
function readable(text: string): boolean {
  if (text.length < 8 || text.includes('\uFFFD')) return false;
  let letters = 0;
  let controls = 0;
  let spaces = 0;
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp < 0x20 && cp !== 0x0a && cp !== 0x0d && cp !== 0x09) controls += 1;
    else if (cp === 0x20) spaces += 1;
    else if (/\p{L}/u.test(char)) letters += 1;
  }
  // Natural-language text has spaces between words, or is CJK (letters without spaces).
  return controls === 0 && letters >= text.length * 0.5 && (spaces > 0 || letters >= 6);
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{16,65536}={0,2}/g;
const HEX_RUN = /[0-9A-Fa-f]{16,65536}/g;
const PERCENT_RUN = /[^\s%]{0,64}%[0-9A-Fa-f]{2}[^\s]{0,8192}/g;
/** The run finders, for the static linearity check in `patterns.test.ts`. */
export const ENCODED_RUN_PATTERNS: readonly RegExp[] = [BASE64_RUN, HEX_RUN, PERCENT_RUN];

function decodeBase64(run: string): string | undefined {
  const body = run.replace(/=+$/, '');
  if (body.length < MIN_BASE64_RUN || body.length % 4 === 1) return undefined;
  // A run of one case and no digits is a word, not an encoding.
  if (/^[a-z]+$/.test(body) || /^[A-Z]+$/.test(body)) return undefined;
  const text = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  return readable(text) ? text : undefined;
}

function decodeHex(run: string): string | undefined {
  const even = run.length % 2 === 0 ? run : run.slice(0, -1);
  if (even.length < MIN_HEX_RUN) return undefined;
  const text = Buffer.from(even, 'hex').toString('utf8');
  return readable(text) ? text : undefined;
}

function decodePercent(run: string): string | undefined {
  let escapes = 0;
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i += 1) {
    const c = run[i]!;
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(run.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(run.slice(i + 1, i + 3), 16));
      escapes += 1;
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  if (escapes < MIN_PERCENT_ESCAPES) return undefined;
  const text = Buffer.from(bytes).toString('utf8');
  return readable(text) ? text : undefined;
}

/** Encoded runs of one text that decode to readable text, at most `MAX_DECODED_RUNS`. */
export function decodedRuns(text: string): TextView[] {
  const views: TextView[] = [];
  const scan = (regex: RegExp, kind: ViewKind, decode: (run: string) => string | undefined): void => {
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      if (views.length >= MAX_DECODED_RUNS) return;
      const decoded = decode(match[0].slice(0, MAX_RUN_CHARS));
      if (decoded !== undefined) views.push({ kind, text: foldText(decoded) });
    }
  };
  if (text.includes('%')) scan(PERCENT_RUN, 'percent', decodePercent);
  scan(HEX_RUN, 'hex', decodeHex);
  scan(BASE64_RUN, 'base64', decodeBase64);
  return views;
}

/** The views of one field besides the field itself: its folded reading and its decoded runs. */
export function viewsOf(text: string): TextView[] {
  const input = bounded(text);
  const views: TextView[] = [];
  const folded = foldText(input);
  if (folded !== input.toLowerCase()) views.push({ kind: 'folded', text: folded });
  views.push(...decodedRuns(input));
  return views;
}
