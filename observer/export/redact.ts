import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AnyValue } from '@opentelemetry/api-logs';
import type { Attributes } from '@opentelemetry/api';

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not tracked: replacing them would shred ordinary text. */
const MIN_SECRET_CHARS = 8;
/** Most recent secrets remembered for exact-match scrubbing; older ones still meet the pattern rules. */
const MAX_KNOWN_SECRETS = 512;

/**
 * Raw credentials the process has seen (bearer tokens, cookie values), so that the export filter can remove
 * them wherever they surface, including in user attributes and error messages. Kept in memory only.
 */
export class KnownSecrets {
  readonly #secrets = new Set<string>();

  remember(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    if (this.#secrets.size > MAX_KNOWN_SECRETS) {
      const oldest = this.#secrets.values().next().value;
      if (oldest !== undefined) this.#secrets.delete(oldest);
    }
  }

  /** Remembers every cookie value of a `Cookie` header. */
  rememberCookies(header: string): void {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      this.remember((eq === -1 ? pair : pair.slice(eq + 1)).trim());
    }
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    return out
      .replace(/\b(bearer)\s+[\w.~+/=-]{16,}/gi, `$1 ${REDACTED}`)
      .replace(/\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*/g, REDACTED)
      .replace(
        /((?:cookie|set-cookie|authorization|api[-_]?key|password|secret|token)["']?\s*[:=]\s*["']?)[^"'\s,;}]{4,}/gi,
        `$1${REDACTED}`,
      );
  }
}

/** Keys whose values are credentials by name; their values are replaced whole. */
const SECRET_KEY =
  /(^|[._-])(authorization|cookie|set-cookie|password|passwd|secret|api[-_]?key|access[-_]?token|refresh[-_]?token|id[-_]?token|token|credentials?)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !/fingerprint$/i.test(key);
}

export function scrubValue(value: unknown, secrets: KnownSecrets, depth = 0): unknown {
  if (typeof value === 'string') return secrets.scrub(value);
  if (depth > 16 || value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // Only scalar values are replaced whole: `token` in an audit event is the claims object, scrubbed field by field.
    out[key] =
      isSecretKey(key) && (typeof item === 'string' || Array.isArray(item))
        ? REDACTED
        : scrubValue(item, secrets, depth + 1);
  }
  return out;
}

function scrubAttributes(attributes: Attributes, secrets: KnownSecrets): Attributes {
  return scrubValue(attributes, secrets) as Attributes;
}

/**
 * The last filter before the wire: every span's attributes, events, links and status message are scrubbed.
 * The exported object inherits from the original so that methods such as `spanContext()` stay intact.
 */
export function redactSpan(span: ReadableSpan, secrets: KnownSecrets): ReadableSpan {
  return Object.create(span, {
    name: { value: secrets.scrub(span.name) },
    attributes: { value: scrubAttributes(span.attributes, secrets) },
    status: {
      value:
        span.status.message === undefined
          ? span.status
          : { ...span.status, message: secrets.scrub(span.status.message) },
    },
    events: {
      value: span.events.map((event) => ({
        ...event,
        name: secrets.scrub(event.name),
        ...(event.attributes === undefined ? {} : { attributes: scrubAttributes(event.attributes, secrets) }),
      })),
    },
    links: {
      value: span.links.map((link) => ({
        ...link,
        ...(link.attributes === undefined ? {} : { attributes: scrubAttributes(link.attributes, secrets) }),
      })),
    },
  }) as ReadableSpan;
}

export function redactLogRecord(record: ReadableLogRecord, secrets: KnownSecrets): ReadableLogRecord {
  return Object.create(record, {
    body: { value: scrubValue(record.body, secrets) as AnyValue },
    attributes: { value: scrubValue(record.attributes, secrets) },
  }) as ReadableLogRecord;
}

export class RedactingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly secrets: KnownSecrets,
  ) {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      spans.map((span) => redactSpan(span, this.secrets)),
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
  ) {}
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      records.map((record) => redactLogRecord(record, this.secrets)),
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
