/**
 * The rule the detectors integration tests run (a session seen with a second principal), and event builders.
 * Defined here rather than taken from the catalog so that the runtime's proofs do not depend on any one rule.
 */
import { z } from 'zod';
import type { McpEvent } from '../contracts/mcp-event.ts';
import type { Rule } from '../detectors/types.ts';

export const sessionTwoPrincipals: Rule<{ principals: string[] }, { maxPrincipals: number }> = {
  meta: {
    id: 'test-session-two-principals',
    version: 1,
    title: 'Session used by two principals',
    description: 'test rule: one session, a second principal',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP07'],
    attack: ['T1550'],
    falsePositives: [],
    references: [],
  },
  configSchema: z.strictObject({ maxPrincipals: z.int().positive().default(1) }),
  scope: 'session',
  keyOf: (event) => event.sessionId,
  initialState: () => ({ principals: [] }),
  onEvent(state, event, context) {
    const principal = event.principal?.id;
    if (principal === undefined || state.principals.includes(principal)) return { state };
    const principals = [...state.principals, principal];
    if (principals.length <= context.config.maxPrincipals) return { state: { principals } };
    return {
      state: { principals },
      findings: [
        {
          subject: event.sessionId!,
          title: 'Session used by a second principal',
          description: `Session ${event.sessionId!} was used by ${principals.join(', ')}`,
          entities: { session: event.sessionId!, user: principal, server: event.server.name },
          evidence: { principals },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};

export const testRules = [sessionTwoPrincipals as Rule<unknown, unknown>];

/** A tool call of `principal` in `sessionId`; `second` is the event-time offset from a fixed start. */
export function callEvent(eventId: string, second: number, sessionId: string, principal: string): McpEvent {
  return {
    schemaVersion: 1,
    kind: 'call',
    eventId,
    time: new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString(),
    server: { name: 'files' },
    sessionId,
    principal: { id: principal, pseudonymous: true },
    method: 'tools/call',
    tool: 'read_file',
    outcome: 'ok',
    durationMs: 3,
  };
}
