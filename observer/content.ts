import type { SecretFinding } from '../contracts/mcp-event.ts';
import { sanitizeResourceUri } from '../contracts/resource-uri.ts';
import {
  catalogMatches,
  credentialAssignments,
  isCredentialName,
  isCredentialValue,
  MAX_SCANNED_CHARS,
} from '../contracts/secret-catalog.ts';
import type { LocatedText } from '../contracts/secret-catalog.ts';
import { REDACTED } from './export/redact.ts';
import type { KnownSecrets } from './export/redact.ts';
import type { Keyring } from './identity.ts';

/** Strings of one captured value that are scanned for secrets. */
const MAX_SCANNED_STRINGS = 512;
/** Nodes of one captured value that are copied for export; the rest is cut (and marked). */
const MAX_EXPORTED_NODES = 2048;
/** Nesting kept in an exported copy; deeper values become a marker. */
const MAX_EXPORTED_DEPTH = 16;
/** Findings per call event. */
export const MAX_SECRET_FINDINGS = 32;
/** Marker of a value cut from an exported copy (too deep, or beyond the node bound). */
export const CUT = '[…]';

/** A located string together with the name it was found under (credential names make it a secret whole). */
interface ScannedText extends LocatedText {
  key?: string;
}

/** What capture keeps of one opt-in value: the raw strings to scan and a bounded copy (credential fields blanked). */
export interface Captured {
  texts: ScannedText[];
  copy: unknown;
}

const pathOf = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$-]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key.slice(0, 64))}]`;

/**
 * One iterative walk over a value as it crossed the wire: its strings (with their paths) for detection, and a
 * bounded copy for export in which values under credential names are already replaced. No recursion: a
 * 20,000-deep value costs its node bound, not the stack.
 */
export function capture(value: unknown, root: string): Captured {
  const texts: ScannedText[] = [];
  const holder: { value?: unknown } = {};
  type Frame = { node: unknown; path: string; depth: number; key?: string; set: (copy: unknown) => void };
  const stack: Frame[] = [{ node: value, path: root, depth: 0, set: (copy) => (holder.value = copy) }];
  let nodes = 0;
  while (stack.length > 0) {
    const { node, path, depth, key, set } = stack.pop()!;
    if (++nodes > MAX_EXPORTED_NODES) {
      set(CUT);
      continue;
    }
    if (typeof node === 'string') {
      if (texts.length < MAX_SCANNED_STRINGS)
        texts.push({ location: path, text: node, ...(key === undefined ? {} : { key }) });
      set(key !== undefined && isCredentialName(key) && isCredentialValue(node) ? REDACTED : node);
    } else if (node === null || typeof node !== 'object') {
      set(typeof node === 'bigint' ? String(node) : typeof node === 'function' ? undefined : node);
    } else if (depth >= MAX_EXPORTED_DEPTH) {
      set(CUT);
    } else if (Array.isArray(node)) {
      const copy: unknown[] = new Array<unknown>(node.length);
      set(copy);
      for (let index = node.length - 1; index >= 0; index--) {
        stack.push({
          node: node[index],
          path: `${path}[${index}]`,
          depth: depth + 1,
          set: (item) => (copy[index] = item),
        });
      }
    } else {
      const copy: Record<string, unknown> = {};
      set(copy);
      const keys = Object.keys(node);
      for (let index = keys.length - 1; index >= 0; index--) {
        const name = keys[index]!;
        stack.push({
          node: (node as Record<string, unknown>)[name],
          path: pathOf(path, name),
          depth: depth + 1,
          key: name,
          set: (item) => {
            if (item !== undefined) copy[name] = item;
          },
        });
      }
    }
  }
  return { texts, copy: holder.value };
}

/**
 * The text a model reads from a tool result, with its real characters: each text block's `text` and each
 * embedded resource's `text`, one per line; other blocks (image, audio, blob, resource link) as a bracketed
 * line naming their type, MIME type and URI. `structuredContent` is kept apart as JSON.
 */
export function resultText(result: Record<string, unknown>): { text: string; texts: ScannedText[] } | undefined {
  const content = result['content'];
  if (!Array.isArray(content)) return undefined;
  const lines: string[] = [];
  const texts: ScannedText[] = [];
  let chars = 0;
  for (let index = 0; index < content.length && chars < MAX_SCANNED_CHARS * 4; index++) {
    const block = content[index] as Record<string, unknown> | null;
    if (typeof block !== 'object' || block === null) continue;
    const resource = block['resource'] as Record<string, unknown> | undefined;
    if (typeof block['text'] === 'string') {
      lines.push(block['text']);
      texts.push({ location: `result[${index}].text`, text: block['text'] });
    } else if (typeof resource === 'object' && resource !== null && typeof resource['text'] === 'string') {
      lines.push(resource['text']);
      texts.push({ location: `result[${index}].resource.text`, text: resource['text'] });
    } else {
      const type = typeof block['type'] === 'string' ? block['type'].slice(0, 64) : 'unknown';
      const mime = block['mimeType'] ?? resource?.['mimeType'];
      const uri = block['uri'] ?? resource?.['uri'];
      lines.push(
        `[${type}${typeof mime === 'string' ? ` ${mime.slice(0, 128)}` : ''}${typeof uri === 'string' ? ` ${sanitizeResourceUri(uri)}` : ''}]`,
      );
    }
    chars += lines[lines.length - 1]!.length;
  }
  return { text: lines.join('\n'), texts };
}

/**
 * Secrets in raw content, before anything is scrubbed: catalog shapes, credential assignments in free text,
 * values under credential names, and credentials the process has seen (in any encoded form). Only the type,
 * the location and a keyed fingerprint of each leave; a known credential is fingerprinted as the raw
 * credential, so it compares with the token fingerprints of `auth` and `call` events.
 */
export function detectSecrets(
  texts: readonly ScannedText[],
  keyring: Keyring,
  known: KnownSecrets,
  into: SecretFinding[] = [],
): SecretFinding[] {
  const seen = new Set(into.map((finding) => `${finding.type}\u0000${finding.location}\u0000${finding.fingerprint}`));
  const add = (type: string, location: string, secret: string): boolean => {
    if (into.length >= MAX_SECRET_FINDINGS) return false;
    const fingerprint = keyring.fingerprint(secret);
    const id = `${type}\u0000${location}\u0000${fingerprint}`;
    if (!seen.has(id)) {
      seen.add(id);
      into.push({ type, location: location.slice(0, 512), fingerprint });
    }
    return true;
  };
  for (const { location, text, key } of texts) {
    const scanned = text.length > MAX_SCANNED_CHARS ? text.slice(0, MAX_SCANNED_CHARS) : text;
    for (const secret of known.findIn(scanned)) if (!add('known-credential', location, secret)) return into;
    if (key !== undefined && isCredentialName(key) && isCredentialValue(text)) {
      if (!add('credential-field', location, text)) return into;
    }
    const matches = catalogMatches(scanned);
    for (const match of matches) if (!add(match.type, location, match.value)) return into;
    for (const assignment of credentialAssignments(scanned)) {
      // `AWS_SECRET_ACCESS_KEY=…` is one secret, already named by the catalog.
      if (matches.some((match) => match.value.includes(assignment.value))) continue;
      if (!add('credential-assignment', location, assignment.value)) return into;
    }
  }
  return into;
}
