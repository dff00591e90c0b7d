import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import {
  INSTRUCTION_PATTERNS,
  REDIRECT_PATTERNS,
  SENSITIVE_PATH_PATTERNS,
  scanTexts,
  scoreOf,
} from './lib/patterns.ts';
import { REFERENCES } from './lib/references.ts';
import { resultTexts } from './lib/text.ts';

const Config = z.strictObject({
  /** Score (sum of the strongest hit per signal) at which a result counts as carrying an injection. */
  threshold: z.number().min(1).default(3),
});
type Config = z.infer<typeof Config>;

/** A sensitive path alone scores 2, under the threshold: it counts only beside an instruction to use it. */
const PATTERNS = [...INSTRUCTION_PATTERNS, ...REDIRECT_PATTERNS, ...SENSITIVE_PATH_PATTERNS];

/**
 * Indirect prompt injection: a tool result (a web page, an issue, an email, a file) that addresses the model
 * with instructions. The result is data from outside; instructions in it are the attacker's.
 */
export const promptInjectionInToolResult: Rule<null, Config> = {
  meta: {
    id: 'prompt-injection-in-tool-result',
    version: 3,
    title: 'Instructions to the model inside a tool result',
    description:
      'The text of a tool result addresses the model with instructions: override or concealment wording, ' +
      'instruction tags, requests to call other tools or send data elsewhere, error results that ask for a ' +
      'file’s contents or a credential as an argument; in ten languages, encoded (base64, hex, percent) or ' +
      'disguised (leetspeak, look-alike letters, full-width forms). Tool results carry content from outside ' +
      '(web pages, issues, mail, files); instructions in them are an indirect prompt injection.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP06', 'MCP10'],
    attack: ['AML.T0051.001'],
    falsePositives: [
      'Results that quote prompt-injection examples, e.g. security research pages or this project’s own fixtures.',
      'Documentation pages that explain to a reader how to configure an AI assistant.',
    ],
    references: [REFERENCES.toolResult, REFERENCES.toolsSecurity, REFERENCES.invariantGithub],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) => (event.kind === 'call' && event.result !== undefined ? event.server.name : undefined),
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'call' || event.result === undefined) return { state: undefined };
    const hits = scanTexts(resultTexts(event.result), PATTERNS);
    const score = scoreOf(hits);
    if (score < config.threshold) return { state: undefined };
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.eventId}`,
          title: 'Instructions to the model inside a tool result',
          description: `A result of ${event.tool ?? event.method} on server ${event.server.name} carries instructions to the model.`,
          entities: entitiesOf(event),
          evidence: {
            tool: event.tool ?? null,
            score,
            signals: [...new Set(hits.map((hit) => hit.signal))],
            hits: hits
              .slice(0, 6)
              .map(({ pattern, excerpt, view }) => ({ pattern, excerpt, ...(view === undefined ? {} : { view }) })),
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
