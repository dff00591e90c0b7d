/** Small valid contract objects for tests. */
import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent, ToolDefinition } from '../../contracts/mcp-event.ts';

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    schemaVersion: 1,
    alertId: '0123456789abcdef0123456789abcdef',
    ruleId: 'session-reuse-across-users',
    ruleVersion: 1,
    severity: 'high',
    title: 'Session used by a second principal',
    description: 'One MCP session id was used by two principals.',
    time: '2026-11-22T10:00:00.000Z',
    entities: { session: 'sess-1', user: 'hmac-sha256:bob', server: 'calendar' },
    evidence: { principals: ['hmac-sha256:alice', 'hmac-sha256:bob'] },
    owasp: ['MCP07'],
    attack: ['T1550'],
    eventIds: ['e2'],
    count: 1,
    ...overrides,
  };
}

export function catalogEvent(time: string, tool: Partial<ToolDefinition> & { name: string; hash: string }): McpEvent {
  return {
    schemaVersion: 1,
    kind: 'tool-catalog',
    eventId: `cat-${time}`,
    time,
    server: { name: 'weather' },
    sessionId: 'sess-w',
    principal: { id: 'hmac-sha256:alice', pseudonymous: true },
    trigger: 'tools/list',
    tools: [tool],
    listHash: tool.hash,
  };
}
