/**
 * The one secret catalog: credential shapes and credential names, read by the observer (which detects on the
 * raw content, then scrubs) and by the `secret-in-tool-io` rule. Pure; imports nothing of ours. Each pattern
 * starts with a fixed prefix and repeats one bounded character class, so matching is linear in the input,
 * which callers bound first (`MAX_SCANNED_CHARS`).
 */
import { createHash } from 'node:crypto';

export interface SecretPattern {
  type: string;
  regex: RegExp;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { type: 'aws-access-key-id', regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { type: 'aws-secret-access-key', regex: /\baws_secret_access_key\s{0,4}[=:]\s{0,4}["']?[A-Za-z0-9/+]{40}\b/gi },
  { type: 'github-token', regex: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { type: 'github-fine-grained-token', regex: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
  { type: 'slack-token', regex: /\bxox[abposr]-[A-Za-z0-9-]{10,200}/g },
  { type: 'slack-webhook', regex: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,120}/g },
  { type: 'google-api-key', regex: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { type: 'stripe-secret-key', regex: /\b[rs]k_live_[0-9A-Za-z]{16,128}\b/g },
  { type: 'openai-api-key', regex: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}/g },
  { type: 'anthropic-api-key', regex: /\bsk-ant-[a-z0-9]{2,10}-[A-Za-z0-9_-]{40,200}/g },
  { type: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}/g },
  { type: 'private-key', regex: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----/g },
  {
    type: 'connection-string',
    regex:
      /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver):\/\/[^\s:@/"']{1,128}:[^\s@/"']{1,256}@/gi,
  },
  { type: 'azure-storage-key', regex: /\bAccountKey=[A-Za-z0-9+/]{40,100}={0,2}/g },
];

/** Characters of one string a pattern ever sees. */
export const MAX_SCANNED_CHARS = 16_384;

/** A piece of text and where it came from, e.g. `arguments.config.token` or `result[0].text`. */
export interface LocatedText {
  location: string;
  text: string;
}

/** One catalog match in `text`: its type, offset and the matched characters (never to be exported). */
export interface SecretMatch {
  type: string;
  index: number;
  value: string;
}

/** Every catalog match in the first `MAX_SCANNED_CHARS` of `text`, in pattern order. */
export function catalogMatches(text: string, limit = 64): SecretMatch[] {
  const scanned = text.length > MAX_SCANNED_CHARS ? text.slice(0, MAX_SCANNED_CHARS) : text;
  const out: SecretMatch[] = [];
  for (const { type, regex } of SECRET_PATTERNS) {
    regex.lastIndex = 0;
    for (let match = regex.exec(scanned); match !== null; match = regex.exec(scanned)) {
      if (out.length >= limit) return out;
      out.push({ type, index: match.index, value: match[0] });
    }
  }
  return out;
}

/**
 * Names whose value is a credential (`password`, `api_key`, `GITHUB_TOKEN`, `clientSecret`, `X-Api-Key`),
 * matched on the name split at camelCase humps and lower-cased. `*_fingerprint` names a hash, not a secret.
 */
const CREDENTIAL_NAME =
  /(?:^|[._-])(?:authorization|cookie|set-cookie|password|passwd|passphrase|pwd|secret|(?:client|app)[-_]secret|secret[-_]key|secret[-_]access[-_]key|api[-_]?key|access[-_]?key|private[-_]?key|access[-_]?token|refresh[-_]?token|id[-_]?token|auth[-_]?token|bearer[-_]?token|session[-_]?token|token|credentials?)$/;

export function isCredentialName(name: string): boolean {
  if (name.length === 0 || name.length > 128) return false;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return CREDENTIAL_NAME.test(words) && !words.endsWith('fingerprint');
}

/** Values under a credential name that are placeholders, not credentials. */
const PLACEHOLDER =
  /^(?:true|false|null|none|undefined|required|optional|string|\*{1,512}|x{1,512}|\[redacted\]|<[^>]{0,510}>|\$\{?\w{1,510}\}?)$/i;

/** Whether a value found under a credential name is worth reporting (and removing): not a placeholder. */
export function isCredentialValue(value: string): boolean {
  return value.length >= 4 && !PLACEHOLDER.test(value);
}

/**
 * `NAME=value` / `name: "value"` in free text (`.env` files, YAML, headers, query strings). The name starts
 * at a word start and is at most 64 characters; the value at most 512: linear whatever the input.
 */
const ASSIGNMENT = /(?<![\w.-])([A-Za-z_][\w.-]{0,63})(["']?[ \t]{0,4}[:=][ \t]{0,4}["']?)([^\s"',;&}]{4,512})/g;

/** One `name=value` whose name is a credential name. */
export interface CredentialAssignment {
  name: string;
  value: string;
}

export function credentialAssignments(text: string, limit = 64): CredentialAssignment[] {
  const scanned = text.length > MAX_SCANNED_CHARS ? text.slice(0, MAX_SCANNED_CHARS) : text;
  const out: CredentialAssignment[] = [];
  ASSIGNMENT.lastIndex = 0;
  for (let match = ASSIGNMENT.exec(scanned); match !== null; match = ASSIGNMENT.exec(scanned)) {
    const [, name = '', , value = ''] = match;
    if (!isCredentialName(name) || !isCredentialValue(value)) continue;
    out.push({ name, value });
    if (out.length >= limit) break;
  }
  return out;
}

/** Replaces the value of every credential assignment in `text` with `replacement`. */
export function replaceCredentialAssignments(text: string, replacement: string): string {
  ASSIGNMENT.lastIndex = 0;
  return text.replace(ASSIGNMENT, (whole, name: string, separator: string, value: string) =>
    isCredentialName(name) && isCredentialValue(value) ? `${name}${separator}${replacement}` : whole,
  );
}

export interface SecretFound {
  type: string;
  location: string;
  /** Offset of the match in the field. */
  offset: number;
  /** Truncated SHA-256 of the secret: correlates repeats, reveals nothing. */
  fingerprint: string;
}

const MAX_FOUND = 16;

/** A truncated SHA-256, enough to correlate a value across alerts without revealing it. */
function shortFingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** Catalog matches over located texts, as the `secret-in-tool-io` rule reports them. */
export function findSecrets(texts: readonly LocatedText[]): SecretFound[] {
  const found: SecretFound[] = [];
  for (const { location, text } of texts) {
    for (const match of catalogMatches(text, MAX_FOUND - found.length)) {
      found.push({ type: match.type, location, offset: match.index, fingerprint: shortFingerprint(match.value) });
    }
    if (found.length >= MAX_FOUND) return found;
  }
  return found;
}
