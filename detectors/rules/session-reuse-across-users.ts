import { z } from 'zod';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf, sessionKeyOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Principals remembered per session beyond the first (bounds state under a flood of principals). */
  maxPrincipals: z.number().int().min(1).max(64).default(8),
});
type Config = z.infer<typeof Config>;

interface State {
  /** The principal the session was first used by, and the event that showed it. */
  first?: { principal: string; eventId: string };
  others: readonly string[];
}

/** Shared by every session used by one principal so far (most): `others` is replaced, never changed in place. */
const NO_OTHERS: readonly string[] = Object.freeze([]);

/** One MCP session id presented by a second principal: a stolen or guessed session id (session hijacking). */
export const sessionReuseAcrossUsers: Rule<State, Config> = {
  meta: {
    id: 'session-reuse-across-users',
    version: 1,
    title: 'Session used by more than one principal',
    description:
      'An MCP session id seen with a principal other than the one that first used it, or a session the server ' +
      'itself reported as presented by the wrong principal. Session ids must be bound to the user they were ' +
      'issued to; a second principal means the id was stolen, guessed or shared (session hijacking).',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP07', 'MCP01'],
    attack: ['T1550', 'T1563'],
    falsePositives: [
      'A gateway that multiplexes several users onto one upstream session (a design flaw, but not an attack).',
      'Principal ids that change for one user when the pseudonymization key is rotated mid-session.',
    ],
    references: [REFERENCES.sessionHijacking, REFERENCES.sessionManagement],
    protocolVersions:
      '2024-11-05 – 2025-11-25 (protocol sessions); never fires on traffic without a session id (2026-07-28 and later: see client-identity-change)',
  },
  configSchema: Config,
  scope: 'session',
  keyOf: (event) =>
    event.principal !== undefined || (event.kind === 'session' && event.action === 'principal-mismatch')
      ? sessionKeyOf(event)
      : undefined,
  initialState: () => ({ others: NO_OTHERS }),
  onEvent(state, event, { config }) {
    if (event.kind === 'session' && event.action === 'principal-mismatch') {
      const bound = event.boundPrincipalId ?? state.first?.principal;
      return {
        state,
        findings: [finding(event, bound, event.principal?.id ?? 'an unidentified caller', [event.eventId])],
      };
    }
    const principal = event.principal!.id;
    if (state.first === undefined)
      return { state: { others: state.others, first: { principal, eventId: event.eventId } } };
    if (principal === state.first.principal || state.others.includes(principal)) return { state };
    if (state.others.length >= config.maxPrincipals) return { state };
    return {
      state: { ...state, others: [...state.others, principal] },
      findings: [finding(event, state.first.principal, principal, [state.first.eventId, event.eventId])],
    };
  },
};

function finding(event: McpEvent, bound: string | undefined, presentedBy: string, eventIds: string[]): Finding {
  return {
    subject: `${event.server.name}\u0000${event.sessionId}`,
    title: 'Session used by more than one principal',
    description: `Session of server ${event.server.name} was bound to ${bound ?? 'another principal'} and presented by ${presentedBy}.`,
    entities: entitiesOf(event),
    evidence: { boundPrincipal: bound ?? null, presentedBy, clientAddress: event.client?.address ?? null },
    eventIds,
  };
}
