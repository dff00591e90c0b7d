import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf, sessionKeyOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Policy: tool name → scopes a caller must hold (all of them). Tools not listed need none. */
  toolScopes: z.record(z.string(), z.array(z.string())).default({}),
  /** Alert when a session's scopes grow after its first call (step-up should re-authorize, not widen silently). */
  detectScopeGrowth: z.boolean().default(true),
});
type Config = z.infer<typeof Config>;

interface State {
  /** Scopes of the session's first call that carried scopes. */
  initialScopes?: string[];
  firstEventId?: string;
}

/** Tools called without the scopes policy requires, and scopes that widen within one session (scope creep). */
export const insufficientScope: Rule<State, Config> = {
  meta: {
    id: 'insufficient-scope',
    version: 1,
    title: 'Tool called without the required scope, or scopes widened in a session',
    description:
      'A tool was served to a principal whose token lacks a scope the policy requires for it, or the scopes ' +
      'presented within one session grew after its first call. The former is a missing authorization check; ' +
      'the latter is privilege escalation through scope creep unless it follows a step-up authorization.',
    severity: 'medium',
    maturity: 'experimental',
    owasp: ['MCP02', 'MCP07'],
    attack: ['T1078', 'T1548'],
    falsePositives: [
      'Step-up authorization (insufficient_scope challenge answered with a wider token) is legitimate scope growth.',
      'A policy that is stricter than the server’s own (the server may enforce a different scope name).',
    ],
    references: [REFERENCES.accessTokenUsage, REFERENCES.authorization],
  },
  configSchema: Config,
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'call' && event.scopes !== undefined
      ? (sessionKeyOf(event) ?? `${event.server.name}\u0000${event.principal?.id ?? ''}`)
      : undefined,
  initialState: () => ({}),
  onEvent(state, event, { config }) {
    if (event.kind !== 'call' || event.scopes === undefined) return { state };
    const scopes = event.scopes;
    const findings = [];
    const required = event.tool === undefined ? undefined : config.toolScopes[event.tool];
    const missing = (required ?? []).filter((scope) => !scopes.includes(scope));
    if (missing.length > 0 && event.outcome === 'ok') {
      findings.push({
        subject: `${event.server.name}\u0000${event.tool}\u0000${event.principal?.id ?? ''}`,
        title: 'Tool called without the required scope',
        description: `Tool ${event.tool} of server ${event.server.name} was served to a caller lacking ${missing.join(', ')}.`,
        entities: entitiesOf(event),
        evidence: { tool: event.tool, required, presented: scopes.slice(0, 32), missing },
        eventIds: [event.eventId],
      });
    }
    if (state.initialScopes === undefined)
      return { state: { initialScopes: scopes.slice(0, 256), firstEventId: event.eventId }, findings };
    const added = scopes.filter((scope) => !state.initialScopes!.includes(scope));
    if (config.detectScopeGrowth && added.length > 0) {
      findings.push({
        subject: `${event.server.name}\u0000${event.sessionId ?? ''}\u0000growth\u0000${[...added].sort().join(' ')}`,
        title: 'Scopes widened within a session',
        description: `Scopes grew by ${added.join(', ')} within one session of server ${event.server.name}.`,
        entities: entitiesOf(event),
        evidence: { initialScopes: state.initialScopes.slice(0, 32), added: added.slice(0, 32) },
        eventIds: [state.firstEventId ?? event.eventId, event.eventId],
      });
      return { state: { ...state, initialScopes: [...state.initialScopes, ...added].slice(0, 256) }, findings };
    }
    return { state, findings };
  },
};
