import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * `sha256:<hex>` over the RFC 8785 canonical JSON of a value: a tool definition hashes the same wherever it
 * is served, observed or re-checked. `undefined` hashes as `null`.
 */
export function contentHash(value: unknown): string {
  return `sha256:${createHash('sha256')
    .update(canonicalize(value ?? null) ?? 'null', 'utf8')
    .digest('hex')}`;
}
