import type { SessionIdAssessment } from '../contracts/mcp-event.ts';

function charsetOf(id: string): SessionIdAssessment['charset'] {
  if (/^[0-9a-f]+$/i.test(id)) return 'hex';
  if (/^[A-Za-z0-9]+$/.test(id)) return 'alphanumeric';
  if (/^[A-Za-z0-9_-]+$/.test(id)) return 'base64url';
  if (/^[\x21-\x7e]+$/.test(id)) return 'visible-ascii';
  return 'other';
}

/** Shannon entropy of the id's own character distribution times its length: a lower bound-ish estimate that flags short or repetitive ids. */
function entropyBits(id: string): number {
  if (id.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of id) counts.set(char, (counts.get(char) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / id.length;
    perChar -= p * Math.log2(p);
  }
  return Math.round(perChar * id.length * 100) / 100;
}

/** Largest step between two ids (same prefix, trailing integers) still counted as a sequence. */
const MAX_SEQUENCE_STEP = 1000n;

function isSequential(previous: string | undefined, id: string): boolean {
  if (previous === undefined) return false;
  const a = /^(.*?)(\d{1,30})$/.exec(previous);
  const b = /^(.*?)(\d{1,30})$/.exec(id);
  if (a === null || b === null || a[1] !== b[1]) return false;
  const step = BigInt(b[2] ?? '0') - BigInt(a[2] ?? '0');
  return step !== 0n && step <= MAX_SEQUENCE_STEP && step >= -MAX_SEQUENCE_STEP;
}

export function assessSessionId(id: string, previous: string | undefined): SessionIdAssessment {
  return {
    length: id.length,
    charset: charsetOf(id),
    entropyBits: entropyBits(id),
    sequential: isSequential(previous, id),
  };
}
