import { z } from 'zod';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const SPEC = 'https://modelcontextprotocol.io/specification/2026-07-28';

const Config = z.strictObject({
  /** A different client within this many seconds of the last request with the same token is raised. */
  windowSeconds: z.number().int().min(1).default(3600),
  /** Compare the declared capability names too (a client that suddenly offers elicitation or sampling). */
  compareCapabilities: z.boolean().default(true),
  /** Compare `clientInfo.version` too (off: clients update themselves). */
  compareVersion: z.boolean().default(false),
});
type Config = z.infer<typeof Config>;

interface Seen {
  name?: string;
  version?: string;
  capabilities?: string;
  time: number;
  eventId: string;
}

const identityOf = (event: McpEvent, time: number): Seen => ({
  ...(event.client?.name === undefined ? {} : { name: event.client.name }),
  ...(event.client?.version === undefined ? {} : { version: event.client.version }),
  ...(event.client?.capabilities === undefined ? {} : { capabilities: event.client.capabilities.join(',') }),
  time,
  eventId: event.eventId,
});

/**
 * One access token presenting itself as different MCP clients: in 2026-07-28 every request names its client in
 * `_meta`, and with no session to bind a token to, a token replayed by another client shows here.
 */
export const clientIdentityChange: Rule<Seen, Config> = {
  meta: {
    id: 'client-identity-change',
    version: 1,
    title: 'One token presented by different MCP clients',
    description:
      'Requests carrying the same access token (by fingerprint) announce a different client (clientInfo name, ' +
      'optionally version) or different client capabilities within a short window. Without protocol sessions ' +
      '(2026-07-28) a token is the only thing that binds requests together; a token lifted from one client and ' +
      'replayed from another tool, or a client that suddenly declares sampling or elicitation to harvest input ' +
      'requests, is the stateless counterpart of a hijacked session.',
    severity: 'medium',
    maturity: 'experimental',
    owasp: ['MCP07', 'MCP01'],
    attack: ['T1550.001', 'T1528'],
    falsePositives: [
      'One user running two MCP clients that share a token (e.g. a CLI and an IDE plugin behind one login).',
      'A client whose declared capabilities depend on the request (enable compareCapabilities only where they do not).',
    ],
    references: [`${SPEC}/basic/index#_meta`, `${SPEC}/changelog`, REFERENCES.accessTokenUsage],
    protocolVersions: 'all; most telling from 2026-07-28, where clientInfo arrives with every request',
  },
  scope: 'server',
  configSchema: Config,
  keyOf: (event) =>
    event.kind === 'call' && event.tokenFingerprint !== undefined && event.client?.name !== undefined
      ? `${event.server.name}\u0000${event.tokenFingerprint}`
      : undefined,
  initialState: () => ({ time: 0, eventId: '' }),
  onEvent(state, event, { config, eventTime }) {
    const now = identityOf(event, eventTime);
    if (state.eventId === '' || eventTime - state.time > config.windowSeconds * 1000) return { state: now };
    const changes: Record<string, { from: string; to: string }> = {};
    if (now.name !== undefined && state.name !== undefined && now.name !== state.name)
      changes['clientName'] = { from: state.name, to: now.name };
    if (
      config.compareVersion &&
      now.version !== undefined &&
      state.version !== undefined &&
      now.version !== state.version
    )
      changes['clientVersion'] = { from: state.version, to: now.version };
    if (
      config.compareCapabilities &&
      now.capabilities !== undefined &&
      state.capabilities !== undefined &&
      now.capabilities !== state.capabilities
    )
      changes['capabilities'] = { from: state.capabilities, to: now.capabilities };
    if (Object.keys(changes).length === 0) return { state: now };
    const fingerprint = event.kind === 'call' ? (event.tokenFingerprint ?? '') : '';
    return {
      state: now,
      findings: [
        {
          subject: `${event.server.name}\u0000${fingerprint}\u0000${state.name ?? ''}\u0000${now.name ?? ''}\u0000${now.capabilities ?? ''}`,
          title: 'One token presented by different MCP clients',
          description:
            `A token (${fingerprint.slice(0, 24)}…) used with server ${event.server.name} changed ` +
            `${Object.keys(changes).join(' and ')} within ${config.windowSeconds} s.`,
          entities: entitiesOf(event),
          evidence: {
            tokenFingerprint: fingerprint.slice(0, 24),
            ...changes,
            ...(event.kind === 'call' && event.protocolVersion !== undefined
              ? { protocolVersion: event.protocolVersion }
              : {}),
          },
          eventIds: [state.eventId, event.eventId],
        },
      ],
    };
  },
};
