import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AnyValue } from '@opentelemetry/api-logs';
import type { Attributes } from '@opentelemetry/api';
import { isCredentialName, replaceCredentialAssignments, SECRET_PATTERNS } from '../../contracts/secret-catalog.ts';

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not tracked: replacing them would shred ordinary text. */
const MIN_SECRET_CHARS = 8;
/** Most recent secrets remembered for exact-match scrubbing; older ones still meet the pattern rules. */
const MAX_KNOWN_SECRETS = 512;

/**
 * The forms a credential takes when a tool passes it on: as is, URL-encoded, JSON-escaped, and base64 /
 * base64url at each of the three byte alignments (the characters that depend on the credential alone), so
 * that `Basic base64(user:token)` or a token inside an encoded blob is found too.
 */
export function encodedForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(JSON.stringify(secret).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]);
    const first = Math.ceil((8 * offset) / 6);
    const last = Math.floor((8 * (offset + bytes.length)) / 6);
    const base64 = shifted.toString('base64').slice(first, last);
    forms.add(base64);
    forms.add(base64.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_CHARS);
}

/** Up to this many known forms, each is searched on its own; beyond, the prefix index is faster. */
const DIRECT_SEARCH_FORMS = 64;
const HASH_BASE = 31;
/** `HASH_BASE` to the power `MIN_SECRET_CHARS - 1` (32-bit), what the character leaving the window weighed. */
const HASH_BASE_TOP = Array.from({ length: MIN_SECRET_CHARS - 1 }).reduce<number>(
  (power) => Math.imul(power, HASH_BASE),
  1,
);

/** 32-bit polynomial hash of the `MIN_SECRET_CHARS` characters of `text` from `start`. */
function prefixHash(text: string, start: number): number {
  let hash = 0;
  for (let index = start; index < start + MIN_SECRET_CHARS; index++) {
    hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(index)) | 0;
  }
  return hash;
}

/** Free-text credential shapes the catalog does not name: bearer values and short JWT-like triples. */
const BEARER = /\b(bearer)\s{1,8}[\w.~+/=-]{16,4096}/gi;
const JWT_LIKE = /\beyJ[\w-]{4,8192}\.eyJ[\w-]{4,8192}\.[\w-]{0,8192}/g;

/**
 * Raw credentials the process has seen (bearer tokens, cookie values, verifier input), so that capture can
 * report them (by fingerprint) and the export filter can remove them wherever they surface, in any of their
 * encoded forms. Kept in memory only.
 *
 * A few forms are searched one by one (`indexOf` is fastest there). Beyond `DIRECT_SEARCH_FORMS`, forms are
 * indexed by a hash of their first `MIN_SECRET_CHARS` characters and a text is scanned once with a rolling hash,
 * so the cost follows the text's length (about 11 ns a character), not the number of secrets known (up to
 * 512, each in up to 8 forms: direct search would take ~50 µs for a 100-character string).
 */
export class KnownSecrets {
  /** Raw secret → its encoded forms, oldest first. */
  readonly #secrets = new Map<string, string[]>();
  /** Every form → the raw secret it encodes. */
  readonly #forms = new Map<string, string>();
  /** Hash of a form's first `MIN_SECRET_CHARS` characters → the forms that start so. */
  readonly #byPrefix = new Map<number, string[]>();

  get size(): number {
    return this.#secrets.size;
  }

  remember(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS || this.#secrets.has(secret)) return;
    const forms = encodedForms(secret);
    this.#secrets.set(secret, forms);
    for (const form of forms) this.#addForm(form, secret);
    if (this.#secrets.size > MAX_KNOWN_SECRETS) {
      const [oldest, oldForms = []] = this.#secrets.entries().next().value ?? [];
      if (oldest !== undefined) this.#secrets.delete(oldest);
      for (const form of oldForms) if (this.#forms.get(form) === oldest) this.#removeForm(form);
    }
  }

  /** Remembers every cookie value of a `Cookie` header. */
  rememberCookies(header: string): void {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      this.remember((eq === -1 ? pair : pair.slice(eq + 1)).trim());
    }
  }

  /** The raw secrets `text` contains in any form (each once), for fingerprinting. */
  findIn(text: string): string[] {
    const found = new Set<string>();
    for (const [start, end] of this.#occurrences(text)) found.add(this.#forms.get(text.slice(start, end))!);
    return [...found];
  }

  /** Known secrets, in every form, removed; nothing else. Cheap when none is known or none occurs. */
  scrubKnown(text: string): string {
    const spans = this.#occurrences(text);
    if (spans.length === 0) return text;
    // Overlapping or touching occurrences are removed as one: each run of secret characters becomes one mark.
    let out = '';
    let copied = 0;
    let index = 0;
    while (index < spans.length) {
      const start = spans[index]![0];
      let end = spans[index]![1];
      for (index++; index < spans.length && spans[index]![0] <= end; index++) end = Math.max(end, spans[index]![1]);
      out += text.slice(copied, start) + REDACTED;
      copied = end;
    }
    return out + text.slice(copied);
  }
  /** A resource URI whose path segments (as sent or decoded) that are known credentials are removed. */
  scrubUri(uri: string): string {
    if (this.#forms.size === 0) return uri;
    const segments = uri.split('/').map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not percent-encoding: compared as it is.
      }
      return this.#forms.has(segment) || this.#forms.has(decoded) ? REDACTED : segment;
    });
    return this.scrubKnown(segments.join('/'));
  }

  /** Every occurrence of a known form in `text`, as `[start, end)` in order of start. */
  #occurrences(text: string): [number, number][] {
    const spans: [number, number][] = [];
    if (this.#forms.size === 0 || text.length < MIN_SECRET_CHARS) return spans;
    if (this.#forms.size <= DIRECT_SEARCH_FORMS) {
      for (const form of this.#forms.keys()) {
        for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1))
          spans.push([at, at + form.length]);
      }
      return spans.sort((a, b) => a[0] - b[0]);
    }
    let hash = prefixHash(text, 0);
    for (let start = 0; ; start++) {
      const candidates = this.#byPrefix.get(hash);
      if (candidates !== undefined) {
        for (const form of candidates) if (text.startsWith(form, start)) spans.push([start, start + form.length]);
      }
      const next = start + MIN_SECRET_CHARS;
      if (next >= text.length) return spans;
      hash =
        (Math.imul(hash - Math.imul(text.charCodeAt(start), HASH_BASE_TOP), HASH_BASE) + text.charCodeAt(next)) | 0;
    }
  }

  #addForm(form: string, secret: string): void {
    if (!this.#forms.has(form)) {
      const hash = prefixHash(form, 0);
      const forms = this.#byPrefix.get(hash);
      if (forms === undefined) this.#byPrefix.set(hash, [form]);
      else forms.push(form);
    }
    this.#forms.set(form, secret);
  }

  #removeForm(form: string): void {
    this.#forms.delete(form);
    const hash = prefixHash(form, 0);
    const forms = this.#byPrefix.get(hash)?.filter((other) => other !== form) ?? [];
    if (forms.length === 0) this.#byPrefix.delete(hash);
    else this.#byPrefix.set(hash, forms);
  }

  /**
   * Free text made safe to export: known secrets in every form, catalog credential shapes, bearer values,
   * JWT-like triples and the values of credential assignments (`API_KEY=…`, `"password": "…"`).
   */
  scrub(text: string): string {
    let out = scrubCatalogSecrets(this.scrubKnown(text));
    out = out.replace(BEARER, `$1 ${REDACTED}`).replace(JWT_LIKE, REDACTED);
    return replaceCredentialAssignments(out, REDACTED);
  }
}

/** Catalog credential shapes replaced (text beyond the scanned bound is cut off by the callers' own bounds). */
export function scrubCatalogSecrets(text: string): string {
  let out = text;
  for (const { regex } of SECRET_PATTERNS) {
    regex.lastIndex = 0;
    if (regex.test(out)) out = out.replace(regex, REDACTED);
  }
  return out;
}

/** Keys whose values are credentials by name; their values are replaced whole. */
export function isSecretKey(key: string): boolean {
  return isCredentialName(key);
}

/** `value` made safe to export as free text: every string scrubbed, scalar values under credential names blanked. */
export function scrubValue(value: unknown, secrets: KnownSecrets): unknown {
  return scrubTree(value, (text) => secrets.scrub(text), true);
}

/**
 * `value` with every string passed through `scrub` (and, when `byKey`, scalar values under credential names
 * blanked), copied only where something changed: a clean value comes back as the same reference.
 */
function scrubTree(value: unknown, scrub: (text: string) => string, byKey: boolean, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const next = scrubTree(item, scrub, byKey, depth + 1);
      if (next !== item) (out ??= value.slice())[index] = next;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    const next =
      byKey && isSecretKey(key) && (typeof item === 'string' || Array.isArray(item))
        ? REDACTED
        : scrubTree(item, scrub, byKey, depth + 1);
    if (next !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = next;
  }
  return out ?? value;
}

/** How a record or span from `scope` is scrubbed: ours carry free text scrubbed once at capture. */
function scrubberFor(
  scope: string | undefined,
  secrets: KnownSecrets,
  trustedScope: string | undefined,
): { scrub: (text: string) => string; byKey: boolean } | undefined {
  if (scope !== undefined && scope === trustedScope) {
    // Only credentials learned since capture can still be there; nothing to look for when none is known.
    return secrets.size === 0 ? undefined : { scrub: (text) => secrets.scrubKnown(text), byKey: false };
  }
  return { scrub: (text) => secrets.scrub(text), byKey: true };
}

/**
 * The last filter before the wire: every span's name, attributes, events, links and status message are
 * scrubbed (a span of `trustedScope`, mcpwatch's own, only for known credentials: its free text was scrubbed
 * when captured). A span with nothing to remove is exported as it is; otherwise the exported object inherits
 * from the original so that methods such as `spanContext()` stay intact.
 */
export function redactSpan(span: ReadableSpan, secrets: KnownSecrets, trustedScope?: string): ReadableSpan {
  const scrubber = scrubberFor(span.instrumentationScope.name, secrets, trustedScope);
  if (scrubber === undefined) return span;
  const { scrub, byKey } = scrubber;
  const name = scrub(span.name);
  const attributes = scrubTree(span.attributes, scrub, byKey) as Attributes;
  const message = span.status.message === undefined ? undefined : scrub(span.status.message);
  const events = scrubTree(span.events, scrub, byKey) as ReadableSpan['events'];
  const links = scrubTree(
    span.links.map((link) => link.attributes),
    scrub,
    byKey,
  ) as (Attributes | undefined)[];
  const linksChanged = links.some((attributes, index) => attributes !== span.links[index]?.attributes);
  if (
    name === span.name &&
    attributes === span.attributes &&
    message === span.status.message &&
    events === span.events &&
    !linksChanged
  )
    return span;
  return Object.create(span, {
    name: { value: name },
    attributes: { value: attributes },
    status: { value: message === span.status.message ? span.status : { ...span.status, message } },
    events: { value: events },
    links: {
      value: linksChanged
        ? span.links.map((link, index) => ({
            ...link,
            ...(links[index] === undefined ? {} : { attributes: links[index] }),
          }))
        : span.links,
    },
  }) as ReadableSpan;
}

export function redactLogRecord(
  record: ReadableLogRecord,
  secrets: KnownSecrets,
  trustedScope?: string,
): ReadableLogRecord {
  const scrubber = scrubberFor(record.instrumentationScope.name, secrets, trustedScope);
  if (scrubber === undefined) return record;
  const body = scrubTree(record.body, scrubber.scrub, scrubber.byKey) as AnyValue;
  const attributes = scrubTree(record.attributes, scrubber.scrub, scrubber.byKey) as ReadableLogRecord['attributes'];
  if (body === record.body && attributes === record.attributes) return record;
  return Object.create(record, { body: { value: body }, attributes: { value: attributes } }) as ReadableLogRecord;
}

export class RedactingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly secrets: KnownSecrets,
    /** Instrumentation scope whose spans carry free text already scrubbed at capture (mcpwatch's own). */
    private readonly trustedScope?: string,
  ) {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      spans.map((span) => redactSpan(span, this.secrets, this.trustedScope)),
      resultCallback,
    );
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export class RedactingLogRecordExporter implements LogRecordExporter {
  constructor(
    private readonly inner: LogRecordExporter,
    private readonly secrets: KnownSecrets,
    /** Instrumentation scope whose records carry free text already scrubbed at capture (mcpwatch's own). */
    private readonly trustedScope?: string,
  ) {}
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      records.map((record) => redactLogRecord(record, this.secrets, this.trustedScope)),
      resultCallback,
    );
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
