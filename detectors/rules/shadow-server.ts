import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Extra server names accepted besides the deployment inventory (e.g. per-team sandboxes). */
  allow: z.array(z.string()).default([]),
});
type Config = z.infer<typeof Config>;

interface State {
  firstEventId: string;
}

/** Telemetry from an MCP server nobody declared: an unsanctioned or impostor server in the fleet. */
export const shadowServer: Rule<State | null, Config> = {
  meta: {
    id: 'shadow-server',
    version: 1,
    title: 'MCP server not in the declared inventory',
    description:
      'Events arrive from an MCP server whose name is not in the declared server inventory. Shadow servers ' +
      'run outside review: unvetted code with access to tools, data and credentials, or an impostor that ' +
      'copies a sanctioned server’s tools. Silent when no inventory is declared.',
    severity: 'medium',
    maturity: 'test',
    owasp: ['MCP09', 'MCP04'],
    attack: ['T1036', 'AML.T0010'],
    falsePositives: [
      'A new server deployed before the inventory was updated.',
      'A sanctioned server renamed (serverInfo.name changed) in a new release.',
    ],
    references: [REFERENCES.lifecycle, REFERENCES.owaspMcpTop10],
  },
  configSchema: Config,
  scope: 'server',
  keyOf: (event) => event.server.name,
  initialState: () => null,
  onEvent(state, event, { config, environment }) {
    const name = event.server.name;
    if (environment.knownServers.length === 0 || environment.knownServers.includes(name) || config.allow.includes(name))
      return { state: undefined };
    if (state !== null) return { state };
    return {
      state: { firstEventId: event.eventId },
      findings: [
        {
          subject: name,
          title: 'MCP server not in the declared inventory',
          description: `Server ${name}${event.server.version === undefined ? '' : ` ${event.server.version}`} is not in the inventory.`,
          entities: entitiesOf(event),
          evidence: {
            server: name,
            version: event.server.version ?? null,
            host: event.server.host ?? null,
            instanceId: event.server.instanceId ?? null,
            firstEventKind: event.kind,
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
