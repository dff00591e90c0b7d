import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';
import { findSecrets } from '../../contracts/secret-catalog.ts';
import { argumentTexts, bounded, type LocatedText } from './lib/text.ts';

const Config = z.strictObject({
  scanArguments: z.boolean().default(true),
  scanResults: z.boolean().default(true),
  /** Secret types (see contracts/secret-catalog.ts) not to report, e.g. `jwt` where tools legitimately return tokens. */
  ignoreTypes: z.array(z.string()).default([]),
});
type Config = z.infer<typeof Config>;

/**
 * Credentials in tool arguments or results that reached telemetry: the model handed a secret to a tool, or a
 * tool returned one into the model's context (from where it can be exfiltrated). Evidence names the type,
 * where it was and a truncated SHA-256 of it, never the secret.
 */
export const secretInToolIo: Rule<null, Config> = {
  meta: {
    id: 'secret-in-tool-io',
    version: 2,
    title: 'Credential in tool arguments or result',
    description:
      'A tool call’s arguments or result contain a credential: cloud access keys, GitHub and Slack tokens, ' +
      'Google, Stripe, OpenAI or Anthropic API keys, JWTs, private keys, database connection strings with a ' +
      'password, Azure storage keys, plus what the instrumentation found in the raw content before scrubbing ' +
      '(`secretFindings`, e.g. `.env`-style `NAME=value` lines). Secrets in the model’s context leak into logs and prompts and can be ' +
      'exfiltrated by any injected instruction. Evidence carries type, location and a fingerprint only.',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP01', 'MCP10'],
    attack: ['T1552', 'AML.T0057'],
    falsePositives: [
      'Tools whose purpose is to issue or rotate credentials (ignore their types or tools).',
      'Published example keys (e.g. AKIAIOSFODNN7EXAMPLE) in documentation returned by a tool.',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.owaspMcpTop10],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'call' &&
    (event.arguments !== undefined || event.result !== undefined || event.secretFindings !== undefined)
      ? event.server.name
      : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'call') return { state: undefined };
    const texts: LocatedText[] = [];
    if (config.scanArguments && event.arguments !== undefined) texts.push(...argumentTexts(event.arguments));
    if (config.scanResults && event.result !== undefined)
      texts.push({ location: 'result', text: bounded(event.result) });
    // Found by the instrumentation in the raw content before it was scrubbed: the ones scrubbing hides from us.
    const reported = (event.secretFindings ?? [])
      .filter(
        ({ location }) =>
          (config.scanArguments && location.startsWith('arguments')) ||
          (config.scanResults && location.startsWith('result')),
      )
      .map(({ type, location, fingerprint }) => ({ type, location, fingerprint: fingerprint.slice(0, 28) }));
    const seen = new Set(reported.map(({ location, type }) => `${location}\u0000${type}`));
    const found = findSecrets(texts).filter(({ location, type }) => !seen.has(`${location}\u0000${type}`));
    const secrets = [...reported, ...found].filter((secret) => !config.ignoreTypes.includes(secret.type)).slice(0, 32);
    if (secrets.length === 0) return { state: undefined };
    const fingerprints = [...new Set(secrets.map((secret) => secret.fingerprint))].sort();
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.tool ?? event.method}\u0000${fingerprints.join(',')}`,
          title: 'Credential in tool arguments or result',
          description: `${[...new Set(secrets.map((secret) => secret.type))].join(', ')} in ${[
            ...new Set(secrets.map((secret) => secret.location.split(/[.[]/)[0])),
          ].join(' and ')} of ${event.tool ?? event.method} on server ${event.server.name}.`,
          entities: entitiesOf(event),
          evidence: { secrets },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
