import { z } from 'zod';
import { ClassifierBackend } from '../../contracts/mcp-event.ts';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** A judge's verdict counts from this confidence on (Prompt Shields gives none, and always counts). */
  minConfidence: z.number().min(0).max(1).default(0.5),
  /** Backends whose verdicts raise alerts; all when empty. */
  backends: z.array(ClassifierBackend).default([]),
});
type Config = z.infer<typeof Config>;

const WHAT = {
  'tool-definition': 'the definition of',
  'server-instructions': 'the instructions of',
  'tool-result': 'a result of',
} as const;

/**
 * A classifier backend (Prompt Shields, or a judge model) found an attack in content the text patterns may not
 * know: a paraphrased instruction, a new language, a new trick. The verdict reaches the rules as a
 * `classification` event written by the classifier stage, so this rule is a pure function of the log like the
 * others, and the verdict is its evidence.
 */
export const promptAttackClassified: Rule<null, Config> = {
  meta: {
    id: 'prompt-attack-classified',
    version: 1,
    title: 'A classifier found a prompt attack in MCP content',
    description:
      'The optional classifier backend (Azure AI Content Safety Prompt Shields, or an OpenAI-compatible judge ' +
      'model) reports an attack in a tool definition, the server instructions or a tool result: tool poisoning ' +
      'or indirect prompt injection worded in a way the text patterns may not know. Runs only when the ' +
      '`classifier` section of the detectors configuration is set; the verdict, with the backend, content hash ' +
      'and (from a judge) category, confidence and reason, is the evidence.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP03', 'MCP06'],
    attack: ['AML.T0051.001', 'AML.T0053'],
    falsePositives: [
      'Classifiers err: security research, documentation about prompts and configuration guides can read as attacks.',
      'A judge model reads attacker text and can be steered; its reason is text it wrote, not proof.',
    ],
    references: [
      REFERENCES.toolsSecurity,
      REFERENCES.toolResult,
      'https://learn.microsoft.com/azure/ai-services/content-safety/concepts/jailbreak-detection',
      REFERENCES.invariantToolPoisoning,
    ],
  },
  configSchema: Config,
  // Keeps no state; verdicts on definitions are keyed by server like the catalogs they come from.
  scope: 'server',
  keyOf: (event, config) =>
    event.kind === 'classification' &&
    event.attackDetected &&
    (config.backends.length === 0 || config.backends.includes(event.backend))
      ? event.server.name
      : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'classification' || !event.attackDetected) return { state: undefined };
    if (event.confidence !== undefined && event.confidence < config.minConfidence) return { state: undefined };
    const about =
      event.tool === undefined ? `server ${event.server.name}` : `${event.tool} on server ${event.server.name}`;
    // A definition is one subject per content; a result is one per call.
    const subject =
      event.subject === 'tool-result'
        ? `${event.server.name}\u0000${event.sourceEventId}`
        : `${event.server.name}\u0000${event.subject}\u0000${event.tool ?? ''}\u0000${event.contentHash}`;
    return {
      state: undefined,
      findings: [
        {
          subject,
          title: 'A classifier found a prompt attack in MCP content',
          description: `${event.backend} reports an attack in ${WHAT[event.subject]} ${about}.`,
          entities: { ...entitiesOf(event), ...(event.tool === undefined ? {} : { tool: event.tool }) },
          evidence: {
            backend: event.backend,
            subject: event.subject,
            tool: event.tool ?? null,
            contentHash: event.contentHash,
            ...(event.category === undefined ? {} : { category: event.category }),
            ...(event.confidence === undefined ? {} : { confidence: event.confidence }),
            ...(event.rationale === undefined ? {} : { reason: event.rationale }),
            ...(event.model === undefined ? {} : { model: event.model }),
            ...(event.truncated === true ? { truncated: true, contentChars: event.contentChars } : {}),
            sourceEventId: event.sourceEventId,
          },
          eventIds: [event.sourceEventId, event.eventId],
        },
      ],
    };
  },
};
