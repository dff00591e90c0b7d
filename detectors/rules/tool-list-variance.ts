import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf, pushBounded } from './lib/entities.ts';

const SPEC = 'https://modelcontextprotocol.io/specification/2026-07-28';
/** The first revision in which list results no longer vary per connection. */
const STATELESS_FROM = '2026-07-28';

const Config = z.strictObject({
  /** Two different lists served within this many seconds, with no list change announced between, count. */
  windowSeconds: z.number().int().min(1).default(300),
});
type Config = z.infer<typeof Config>;

interface Served {
  listHash: string;
  /** Principal id, else client address, else client name: who was served. */
  servedTo: string;
  time: number;
  eventId: string;
}

interface State {
  recent: Served[];
  /** Event time of the last `list-changed` catalog: lists before it are not compared with lists after it. */
  changedAt?: number;
}

const MAX_RECENT = 32;

/**
 * One server serving different `tools/list` answers at the same time (2026-07-28 and later, where list results
 * must not vary per connection): a targeted rug pull shows one audience a different tool set. The session-era
 * split view stays in `tool-definition-drift`; this rule is its stateless counterpart, kept apart because it
 * needs the protocol version and does not depend on a first-seen baseline.
 */
export const toolListVariance: Rule<State, Config> = {
  meta: {
    id: 'tool-list-variance',
    version: 1,
    title: 'Server serves different tool lists at the same time',
    description:
      'A server answered tools/list with different tool lists (different list hashes) to different principals, ' +
      'clients or connections within a short window, with no list change announced between them. From ' +
      'protocol revision 2026-07-28 list results no longer vary per connection, so two concurrent lists mean ' +
      'some callers see tools others do not: a rug pull aimed at one target, or a compromised replica.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP03', 'MCP04'],
    attack: ['T1195.002', 'AML.T0010'],
    falsePositives: [
      'A rolling deployment where replicas of two releases serve at once (correlate with deploys; one alert per pair of lists).',
      'A server that filters tools by the caller’s permissions, which 2026-07-28 no longer allows for list results.',
    ],
    references: [`${SPEC}/changelog`, `${SPEC}/server/tools`],
    protocolVersions: '2026-07-28 and later (earlier lists may vary per session: see tool-definition-drift)',
  },
  scope: 'server',
  configSchema: Config,
  keyOf: (event) =>
    event.kind === 'tool-catalog' && event.protocolVersion !== undefined && event.protocolVersion >= STATELESS_FROM
      ? event.server.name
      : undefined,
  initialState: () => ({ recent: [] }),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind !== 'tool-catalog') return { state };
    if (event.trigger === 'list-changed') return { state: { recent: [], changedAt: eventTime } };
    const servedTo = event.principal?.id ?? event.client?.address ?? event.client?.name ?? 'unknown';
    const since = Math.max(eventTime - config.windowSeconds * 1000, state.changedAt ?? Number.NEGATIVE_INFINITY);
    const recent = state.recent.filter((served) => served.time >= since);
    const other = recent.find((served) => served.listHash !== event.listHash);
    const next: State = {
      recent: pushBounded(
        recent.filter((served) => !(served.listHash === event.listHash && served.servedTo === servedTo)),
        { listHash: event.listHash, servedTo, time: eventTime, eventId: event.eventId },
        MAX_RECENT,
      ),
      ...(state.changedAt === undefined ? {} : { changedAt: state.changedAt }),
    };
    if (other === undefined) return { state: next };
    const pair = [other.listHash, event.listHash].sort();
    return {
      state: next,
      findings: [
        {
          subject: `${event.server.name}\u0000${pair.join('\u0000')}`,
          title: 'Server serves different tool lists at the same time',
          description:
            `Server ${event.server.name} served two different tool lists within ${config.windowSeconds} s ` +
            `without announcing a list change: ${other.servedTo} got ${other.listHash.slice(0, 19)}…, ` +
            `${servedTo} got ${event.listHash.slice(0, 19)}….`,
          entities: entitiesOf(event),
          evidence: {
            lists: [
              { listHash: other.listHash, servedTo: other.servedTo },
              { listHash: event.listHash, servedTo, tools: event.tools.map((tool) => tool.name).slice(0, 32) },
            ],
            protocolVersion: event.protocolVersion,
          },
          eventIds: [other.eventId, event.eventId],
        },
      ],
    };
  },
};
