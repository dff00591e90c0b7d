import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** `sha256:<hex>` over the RFC 8785 canonical JSON of a value, as the instrumentation hashes definitions. */
export function canonicalHash(value: unknown): string {
  return `sha256:${createHash('sha256')
    .update(canonicalize(value ?? null) ?? 'null')
    .digest('hex')}`;
}
