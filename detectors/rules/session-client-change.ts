import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf, sessionKeyOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Compare client network addresses (turn off where clients roam between networks, e.g. mobile). */
  compareAddress: z.boolean().default(true),
  /** Compare the `clientInfo` name the client announced at initialize. */
  compareClientName: z.boolean().default(true),
});
type Config = z.infer<typeof Config>;

interface State {
  principal?: string;
  address?: string;
  clientName?: string;
  eventId?: string;
}

/** The same principal's session continued from another address or another MCP client: a replayed session id. */
export const sessionClientChange: Rule<State, Config> = {
  meta: {
    id: 'session-client-change',
    version: 1,
    title: 'Session continued from a different client',
    description:
      'One MCP session, one principal, but the client network address or the announced client identity ' +
      '(`clientInfo.name`) changes mid-session. A session id replayed from another machine by someone who ' +
      'holds the same credentials, or a stolen session riding on a shared account, looks like this.',
    severity: 'medium',
    maturity: 'experimental',
    owasp: ['MCP07'],
    attack: ['T1550', 'T1563'],
    falsePositives: [
      'Clients that roam between networks (mobile, VPN reconnects) or sit behind a pool of egress NAT addresses.',
      'A load balancer that does not preserve the client address (then every address is the proxy’s).',
    ],
    references: [REFERENCES.sessionHijacking, REFERENCES.sessionManagement],
    protocolVersions:
      '2024-11-05 – 2025-11-25 (protocol sessions); never fires on traffic without a session id (2026-07-28 and later: see client-identity-change)',
  },
  configSchema: Config,
  scope: 'session',
  keyOf: (event) => (event.principal === undefined ? undefined : sessionKeyOf(event)),
  initialState: () => ({}),
  onEvent(state, event, { config }) {
    const principal = event.principal!.id;
    const address = event.client?.address;
    const clientName = event.client?.name;
    if (state.principal === undefined || state.principal !== principal) {
      // A different principal is session-reuse-across-users; start over from this one.
      return { state: { principal, eventId: event.eventId, ...known(address, clientName) } };
    }
    const addressChanged =
      config.compareAddress && address !== undefined && state.address !== undefined && address !== state.address;
    const clientNameChanged =
      config.compareClientName &&
      clientName !== undefined &&
      state.clientName !== undefined &&
      clientName !== state.clientName;
    // What was not known yet is learned; most events change nothing, and the state stays as it is.
    const learns =
      (state.address === undefined && address !== undefined) ||
      (state.clientName === undefined && clientName !== undefined);
    const next: State = learns
      ? { ...state, ...known(state.address ?? address, state.clientName ?? clientName) }
      : state;
    if (!addressChanged && !clientNameChanged) return { state: next };
    const changes: Record<string, { from: string; to: string }> = {};
    if (addressChanged) changes.address = { from: state.address!, to: address };
    if (clientNameChanged) changes.clientName = { from: state.clientName!, to: clientName };
    return {
      state: next,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.sessionId}\u0000${address ?? ''}\u0000${clientName ?? ''}`,
          title: 'Session continued from a different client',
          description: `Session of server ${event.server.name} for principal ${principal} changed ${Object.keys(changes).join(' and ')} mid-session.`,
          entities: entitiesOf(event),
          evidence: { principal, ...changes },
          eventIds: [...(state.eventId === undefined ? [] : [state.eventId]), event.eventId],
        },
      ],
    };
  },
};

function known(address: string | undefined, clientName: string | undefined): Pick<State, 'address' | 'clientName'> {
  return { ...(address === undefined ? {} : { address }), ...(clientName === undefined ? {} : { clientName }) };
}
