import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Shortest acceptable id, in characters (a UUID has 36). */
  minLength: z.number().int().min(1).default(16),
  /** Least Shannon entropy estimate for the whole id, in bits (a random UUID v4 estimates ~120). */
  minEntropyBits: z.number().min(0).default(64),
});
type Config = z.infer<typeof Config>;

/**
 * Session ids a server issues that can be guessed: short, low-entropy or sequential, or outside visible ASCII
 * (0x21–0x7E), which the spec requires. Stateless: the instrumentation assesses each id as it is created.
 */
export const weakSessionId: Rule<null, Config> = {
  meta: {
    id: 'weak-session-id',
    version: 1,
    title: 'Server issues guessable session ids',
    description:
      'A session id created by the server is short, has a low entropy estimate, follows the previous id by a ' +
      'small step, or contains characters outside visible ASCII. The spec requires globally unique, ' +
      'cryptographically secure ids of visible ASCII; a guessable id lets anyone hijack sessions.',
    severity: 'medium',
    maturity: 'test',
    owasp: ['MCP07', 'MCP01'],
    attack: ['T1110', 'T1550'],
    falsePositives: [
      'Test and development servers that use counters on purpose.',
      'Ids derived from a secure token in a shape with few distinct characters (the estimate is per character).',
    ],
    references: [REFERENCES.sessionManagement, REFERENCES.sessionHijacking],
    protocolVersions:
      '2025-03-26 – 2025-11-25 (Mcp-Session-Id); 2026-07-28 removed protocol sessions, so stateless servers issue no ids to assess',
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'session' && event.action === 'created' && event.idAssessment !== undefined
      ? event.server.name
      : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'session' || event.idAssessment === undefined) return { state: undefined };
    const id = event.idAssessment;
    const weaknesses: string[] = [];
    if (id.length < config.minLength) weaknesses.push(`short (${id.length} < ${config.minLength} characters)`);
    if (id.entropyBits < config.minEntropyBits)
      weaknesses.push(`low entropy (${id.entropyBits.toFixed(1)} < ${config.minEntropyBits} bits)`);
    if (id.sequential) weaknesses.push('sequential (a small step from the previous id)');
    if (id.charset === 'other') weaknesses.push('characters outside visible ASCII');
    if (weaknesses.length === 0) return { state: undefined };
    return {
      state: undefined,
      findings: [
        {
          // One alert per server and kind of weakness: a server issues every id the same way.
          subject: `${event.server.name}\u0000${weaknesses.map((w) => w.split(' ')[0]).join(',')}`,
          title: 'Server issues guessable session ids',
          description: `Server ${event.server.name} created a session id that is ${weaknesses.join(', ')}.`,
          entities: entitiesOf(event),
          evidence: {
            weaknesses,
            length: id.length,
            charset: id.charset,
            entropyBits: id.entropyBits,
            sequential: id.sequential,
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
