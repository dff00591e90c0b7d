import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';

const SPEC = 'https://modelcontextprotocol.io/specification/2026-07-28';

const Config = z.strictObject({
  /** Also raise a request whose only disagreement is `MCP-Protocol-Version` (clients mid-upgrade send these). */
  includeProtocolVersion: z.boolean().default(true),
});
type Config = z.infer<typeof Config>;

/**
 * A Streamable HTTP request whose `Mcp-Method`, `Mcp-Name` or `MCP-Protocol-Version` header disagrees with its
 * JSON-RPC body (2026-07-28). Stateless: each request is judged on its own.
 */
export const headerBodyMismatch: Rule<null, Config> = {
  meta: {
    id: 'header-body-mismatch',
    version: 1,
    title: 'MCP request headers disagree with the body',
    description:
      'A Streamable HTTP request whose Mcp-Method, Mcp-Name or MCP-Protocol-Version header names another method, ' +
      'tool, prompt, resource or protocol version than its JSON-RPC body (or leaves a required header out while ' +
      'the body names one). Gateways, load balancers and policy engines route and authorize on the headers; the ' +
      'server executes the body. A request shaped to pass a header-based policy while doing something else looks ' +
      'like this. Servers must reject it (HeaderMismatch, -32020); seen here, it either reached a server that did ' +
      'not, or was observed in front of one.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP07', 'MCP05'],
    attack: ['T1036', 'T1562'],
    falsePositives: [
      'A client library with a bug in its header encoding (e.g. a name that needed the Base64 sentinel sent raw).',
      'A proxy that rewrites the body (e.g. renames tools) without rewriting the headers.',
    ],
    references: [`${SPEC}/basic/transports/streamable-http#server-validation`, `${SPEC}/changelog`],
    protocolVersions: '2026-07-28 and later (Streamable HTTP)',
  },
  scope: 'server',
  configSchema: Config,
  keyOf: (event) =>
    event.kind === 'call' && (event.mcpHeaders?.mismatch?.length ?? 0) > 0 ? event.server.name : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'call' || event.mcpHeaders?.mismatch === undefined) return { state: undefined };
    const mismatch = event.mcpHeaders.mismatch.filter(
      (field) => config.includeProtocolVersion || field !== 'protocolVersion',
    );
    if (mismatch.length === 0) return { state: undefined };
    const body = {
      method: event.method,
      ...(event.tool === undefined ? {} : { tool: event.tool }),
      ...(event.prompt === undefined ? {} : { prompt: event.prompt }),
      ...(event.resourceUri === undefined ? {} : { resourceUri: event.resourceUri }),
      ...(event.protocolVersion === undefined ? {} : { protocolVersion: event.protocolVersion }),
    };
    const headers = {
      ...(event.mcpHeaders.method === undefined ? {} : { method: event.mcpHeaders.method }),
      ...(event.mcpHeaders.name === undefined ? {} : { name: event.mcpHeaders.name }),
      ...(event.mcpHeaders.protocolVersion === undefined ? {} : { protocolVersion: event.mcpHeaders.protocolVersion }),
    };
    const target = event.tool ?? event.prompt ?? event.resourceUri ?? '';
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.principal?.id ?? event.client?.address ?? ''}\u0000${event.method}\u0000${target}\u0000${headers.method ?? ''}\u0000${headers.name ?? ''}`,
          // A version-only disagreement is a client bug more often than an attack.
          ...(mismatch.every((field) => field === 'protocolVersion') ? { severity: 'medium' as const } : {}),
          title: 'MCP request headers disagree with the body',
          description:
            `A request to server ${event.server.name} carried headers (${mismatch.join(', ')}) that disagree with ` +
            `its body: headers say ${JSON.stringify(headers)}, the body ${JSON.stringify(body)}.`,
          entities: entitiesOf(event),
          evidence: { mismatch, headers, body, outcome: event.outcome },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
