/**
 * Invisible and deceptive characters, found by one pass over code points (no regex, linear in the input).
 * Tag characters (U+E0000–E007F) mirror ASCII and are decoded so the analyst reads the hidden text.
 */
import { MAX_FIELD_CHARS, type LocatedText } from './text.ts';

export type HiddenClass = 'tag' | 'bidi' | 'zero-width' | 'ansi-escape' | 'variation-selector' | 'private-use';

export interface HiddenCharacters {
  location: string;
  counts: Partial<Record<HiddenClass, number>>;
  /** Text spelled by tag characters, when there are any (bounded). */
  decodedTags?: string;
  /** The first few code points found, as `U+XXXX`. */
  codePoints: string[];
}

const MAX_DECODED = 256;
const MAX_CODE_POINTS = 8;

/** The class of a code point a reader cannot see, or undefined for an ordinary one. */
export function hiddenClassOf(cp: number): HiddenClass | undefined {
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'tag';
  if (
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x061c
  )
    return 'bidi';
  if (
    (cp >= 0x200b && cp <= 0x200d) ||
    cp === 0x2060 ||
    cp === 0xfeff ||
    cp === 0x180e ||
    cp === 0x2062 ||
    cp === 0x2063 ||
    cp === 0x2064
  )
    return 'zero-width';
  if (cp === 0x1b || cp === 0x9b) return 'ansi-escape';
  if (cp >= 0xe0100 && cp <= 0xe01ef) return 'variation-selector';
  if ((cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xf0000 && cp <= 0x10ffff)) return 'private-use';
  return undefined;
}

const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** Every code unit `hiddenClassOf` can flag but the escape (surrogates stand for all astral code points). */
const MAY_HIDE = /[\u009b\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ue000-\uf8ff\ud800-\udfff]/;

/** Whether a text has a character `hiddenClassOf` could flag: most text has none, and is cleared in one pass. */
export function mayHide(text: string): boolean {
  return text.includes('\u001b') || MAY_HIDE.test(text);
}

/** A pictograph, or what may end one inside an emoji sequence: a variation selector or a skin-tone modifier. */
function emojiPart(char: string): boolean {
  const cp = char.codePointAt(0) ?? 0;
  return cp === 0xfe0f || cp === 0xfe0e || (cp >= 0x1f3fb && cp <= 0x1f3ff) || PICTOGRAPHIC.test(char);
}

/**
 * Hidden characters in one text, or undefined. A zero-width joiner between pictographs (emoji sequences) and a
 * byte order mark at the very start are ordinary and not counted.
 */
export function findHiddenCharacters({ location, text }: LocatedText): HiddenCharacters | undefined {
  const input = text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text;
  if (!mayHide(input)) return undefined;
  const counts: Partial<Record<HiddenClass, number>> = {};
  const codePoints: string[] = [];
  let decoded = '';
  let previous = '';
  let index = 0;
  for (const char of input) {
    const cp = char.codePointAt(0)!;
    const hiddenClass = hiddenClassOf(cp);
    const ordinary =
      hiddenClass === undefined || (cp === 0x200d && emojiPart(previous)) || (cp === 0xfeff && index === 0);
    if (!ordinary) {
      counts[hiddenClass] = (counts[hiddenClass] ?? 0) + 1;
      if (codePoints.length < MAX_CODE_POINTS) codePoints.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
      if (hiddenClass === 'tag' && cp >= 0xe0020 && cp <= 0xe007e && decoded.length < MAX_DECODED)
        decoded += String.fromCharCode(cp - 0xe0000);
    }
    previous = char;
    index += 1;
  }
  if (codePoints.length === 0) return undefined;
  return { location, counts, codePoints, ...(decoded === '' ? {} : { decodedTags: decoded }) };
}

/** Scripts whose letters pass for Latin ones in a tool name (`rеad_file` with a Cyrillic `е`). */
const CONFUSABLE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}\uff01-\uff5e]/u;

/**
 * Whether a tool name mixes ASCII letters with look-alike letters of another script. MCP tool names are meant
 * to be ASCII (`[A-Za-z0-9_.-]`, spec 2025-06-18 "Tools"), so any such mix is deceptive.
 */
export function confusableName(name: string): { name: string; codePoints: string[] } | undefined {
  const cut = name.slice(0, 512);
  if (!/[A-Za-z]/.test(cut) || !CONFUSABLE_SCRIPT.test(cut)) return undefined;
  const codePoints: string[] = [];
  for (const char of cut) {
    if (CONFUSABLE_SCRIPT.test(char) && codePoints.length < MAX_CODE_POINTS)
      codePoints.push(`U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return { name: cut, codePoints };
}
