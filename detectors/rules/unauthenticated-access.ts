import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Servers (by `serverInfo.name`) declared to require authorization on every request. */
  serversRequiringAuth: z.array(z.string()).default([]),
  /** Treat a server as requiring auth once it has served an authenticated call over HTTP. */
  learnFromTraffic: z.boolean().default(true),
  /** Methods a server may answer without auth (spec: authorization applies to every request; keep this short). */
  publicMethods: z.array(z.string()).default(['ping']),
});
type Config = z.infer<typeof Config>;

interface State {
  /** Event id of the first authenticated call, once one was seen. */
  authenticatedSince?: string;
}

/**
 * Requests served without verified authorization where the server requires it, and bearer tokens that reached
 * the server with no verifier configured (the token was taken at face value).
 */
export const unauthenticatedAccess: Rule<State, Config> = {
  meta: {
    id: 'unauthenticated-access',
    version: 1,
    title: 'Request served without verified authorization',
    description:
      'An MCP request over HTTP was served with no verified auth info although the server is declared (or was ' +
      'seen) to require authorization, or a bearer token arrived that no verifier checked. The spec requires ' +
      'authorization on every HTTP request to a protected server; a gap means a route or transport bypasses it.',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP07'],
    attack: ['T1190', 'T1078'],
    falsePositives: [
      'Servers that deliberately expose some tools anonymously while protecting others (declare them; turn off learnFromTraffic).',
      'Health checks that call MCP methods other than ping.',
    ],
    references: [REFERENCES.accessTokenUsage, REFERENCES.authorization],
  },
  configSchema: Config,
  scope: 'server',
  keyOf: (event) => {
    if (event.kind === 'auth' && event.outcome === 'unverified-bearer') return event.server.name;
    if (event.kind === 'call' && event.transport !== 'stdio') return event.server.name;
    return undefined;
  },
  initialState: () => ({}),
  onEvent(state, event, { config }) {
    if (event.kind === 'auth') {
      return {
        state,
        findings: [
          {
            subject: `${event.server.name}\u0000unverified-bearer`,
            title: 'Bearer token accepted without verification',
            description: `Server ${event.server.name} received a bearer token that no verifier checked.`,
            entities: entitiesOf(event),
            evidence: { outcome: event.outcome, reason: event.reason ?? null },
            eventIds: [event.eventId],
          },
        ],
      };
    }
    if (event.kind !== 'call') return { state };
    if (event.authenticated === true) {
      return state.authenticatedSince === undefined ? { state: { authenticatedSince: event.eventId } } : { state };
    }
    if (event.authenticated !== false || config.publicMethods.includes(event.method)) return { state };
    const declared = config.serversRequiringAuth.includes(event.server.name);
    const learned = config.learnFromTraffic && state.authenticatedSince !== undefined;
    if (!declared && !learned) return { state };
    return {
      state,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.method}\u0000${event.tool ?? ''}`,
          title: 'Request served without verified authorization',
          description: `Server ${event.server.name} served ${event.method}${event.tool === undefined ? '' : ` (${event.tool})`} without verified auth.`,
          entities: entitiesOf(event),
          evidence: {
            method: event.method,
            tool: event.tool ?? null,
            outcome: event.outcome,
            why: declared ? 'server declared to require authorization' : 'server served authenticated calls before',
            ...(learned ? { firstAuthenticatedEventId: state.authenticatedSince } : {}),
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
