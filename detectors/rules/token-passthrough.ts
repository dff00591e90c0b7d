import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Inbound token fingerprints remembered per server (most recent kept). */
  maxTokens: z.number().int().min(1).max(100_000).default(2_000),
  /** How long an inbound token is remembered, in seconds (longer than any token's lifetime). */
  tokenTtlSeconds: z
    .number()
    .int()
    .min(1)
    .default(24 * 3600),
});
type Config = z.infer<typeof Config>;

interface State {
  /** Inbound fingerprint → [last seen ms, event id]. */
  inbound: Record<string, [number, string]>;
}

/**
 * The token a client presented to this server sent on by the server to another service. The spec forbids
 * passing tokens through: the downstream service then trusts a token that was never issued for it.
 */
export const tokenPassthrough: Rule<State, Config> = {
  meta: {
    id: 'token-passthrough',
    version: 2,
    title: 'Client token passed through to another service',
    description:
      'An outbound request of the MCP server carries a token (by keyed fingerprint) that a client presented ' +
      'to the server: as its bearer token, in any other header (`X-Api-Key`, a custom one), as a query ' +
      'parameter or in the first bytes of its body. Token passthrough is forbidden by the MCP authorization spec: it ' +
      'bypasses the downstream service’s controls, breaks audit trails and makes the server a confused deputy.',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP01', 'MCP07'],
    attack: ['T1550.001'],
    falsePositives: [
      'A deliberate same-audience proxy in front of one API whose tokens are issued for both (declare it instead).',
    ],
    references: [REFERENCES.tokenPassthrough, REFERENCES.accessTokenUsage],
  },
  configSchema: Config,
  scope: 'server',
  keyOf: (event) => {
    if (event.kind === 'outbound-request') return event.server.name;
    if (event.kind === 'auth' && event.token !== undefined) return event.server.name;
    if (event.kind === 'call' && event.tokenFingerprint !== undefined) return event.server.name;
    return undefined;
  },
  initialState: () => ({ inbound: {} }),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind === 'outbound-request') {
      const carried = [
        ...(event.tokenFingerprint === undefined
          ? []
          : [{ location: 'header:authorization', fingerprint: event.tokenFingerprint }]),
        ...(event.credentialFingerprints ?? []),
      ];
      const matched = carried.filter(({ fingerprint }) => {
        const seen = state.inbound[fingerprint];
        return seen !== undefined && eventTime - seen[0] <= config.tokenTtlSeconds * 1000;
      });
      if (matched.length === 0) return { state };
      const fingerprints = [...new Set(matched.map(({ fingerprint }) => fingerprint))].sort();
      const inboundEventIds = [...new Set(fingerprints.map((fingerprint) => state.inbound[fingerprint]![1]))];
      const locations = [...new Set(matched.map(({ location }) => location))].slice(0, 8);
      return {
        state,
        findings: [
          {
            subject: `${event.server.name}\u0000${event.destinationHost}\u0000${fingerprints.join(',')}`,
            title: 'Client token passed through to another service',
            description: `Server ${event.server.name} sent a client's inbound token to ${event.destinationHost} (${locations.join(', ')}).`,
            entities: entitiesOf(event),
            evidence: {
              destinationHost: event.destinationHost,
              method: event.method ?? null,
              locations,
              tokenFingerprint: fingerprints[0]!.slice(0, 28),
              inboundEventId: inboundEventIds[0],
            },
            eventIds: [...inboundEventIds, event.eventId],
          },
        ],
      };
    }
    const fingerprint =
      event.kind === 'auth' ? event.token?.fingerprint : event.kind === 'call' ? event.tokenFingerprint : undefined;
    if (fingerprint === undefined) return { state };
    const inbound = { ...state.inbound };
    delete inbound[fingerprint];
    inbound[fingerprint] = [eventTime, event.eventId];
    const keys = Object.keys(inbound);
    for (const stale of keys.slice(0, Math.max(0, keys.length - config.maxTokens))) delete inbound[stale];
    return { state: { inbound } };
  },
};
