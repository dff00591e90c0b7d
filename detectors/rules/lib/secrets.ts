/**
 * Credential shapes in tool arguments and results. Each pattern starts with a fixed prefix and repeats one
 * bounded character class, so matching is linear in the (already bounded) input.
 */
import { bounded, fingerprintOf, type LocatedText } from './text.ts';

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

export interface SecretFound {
  type: string;
  location: string;
  /** Offset of the match in the field. */
  offset: number;
  /** Truncated SHA-256 of the secret: correlates repeats, reveals nothing. */
  fingerprint: string;
}

const MAX_FOUND = 16;

export function findSecrets(texts: readonly LocatedText[]): SecretFound[] {
  const found: SecretFound[] = [];
  for (const { location, text: whole } of texts) {
    const text = bounded(whole);
    for (const { type, regex } of SECRET_PATTERNS) {
      regex.lastIndex = 0;
      for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
        if (found.length >= MAX_FOUND) return found;
        found.push({ type, location, offset: match.index, fingerprint: fingerprintOf(match[0]) });
      }
    }
  }
  return found;
}
