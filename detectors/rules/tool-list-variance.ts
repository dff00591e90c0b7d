import { z } from 'zod';
import type { Rule } from '../types.ts';
import { audienceOf, isStatelessCatalog } from './lib/catalog-audience.ts';
import { entitiesOf, pushBounded } from './lib/entities.ts';

const SPEC = 'https://modelcontextprotocol.io/specification/2026-07-28';

const Config = z.strictObject({
  /** Two different lists served within this many seconds, with no list change announced between, count. */
  windowSeconds: z.number().int().min(1).default(300),
});
type Config = z.infer<typeof Config>;

/** What one audience (principal, else client address, else client name) was last served. */
interface Served {
  servedTo: string;
  listHash: string;
  /** The list this audience was served before it was served `listHash`: its own change over time. */
  previousListHash?: string;
  time: number;
  eventId: string;
}

interface State {
  audiences: Served[];
  /** Event time of the last `list-changed` catalog: lists before it are not compared with lists after it. */
  changedAt?: number;
}

/** Audiences remembered per server, least recently served dropped first (as drift bounds its sessions). */
const MAX_AUDIENCES = 1024;

export const toolListVariance: Rule<State, Config> = {
  meta: {
    id: 'tool-list-variance',
    version: 2,
    title: 'Server serves different tool lists at the same time',
    description:
      'A server answered tools/list with different tool lists (different list hashes) to different principals, ' +
      'clients or connections within a short window, with no list change announced between them and neither ' +
      'list explained by its audience having been served the other one before (that is a change over time, ' +
      'raised by tool-definition-drift). From ' +
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
  keyOf: (event) => (event.kind === 'tool-catalog' && isStatelessCatalog(event) ? event.server.name : undefined),
  initialState: () => ({ audiences: [] }),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind !== 'tool-catalog') return { state };
    // A state checkpointed by version 1 kept `recent` instead: it starts over.
    const known = Array.isArray(state.audiences) ? state.audiences : [];
    if (event.trigger === 'list-changed') return { state: { audiences: known, changedAt: eventTime } };
    const servedTo = audienceOf(event) ?? 'unknown';
    const since = Math.max(eventTime - config.windowSeconds * 1000, state.changedAt ?? Number.NEGATIVE_INFINITY);
    // What this audience was served before counts however long ago: a change since is drift's, not variance.
    const own = known.find((seen) => seen.servedTo === servedTo);
    // A move across an announced list change is explained by the announcement: the old list is stale after it.
    const moved = own === undefined || own.time < (state.changedAt ?? Number.NEGATIVE_INFINITY) ? undefined : own;
    const previousListHash = moved?.listHash === event.listHash ? moved.previousListHash : moved?.listHash;
    // Neither audience moved from the other's list to its own: the two lists are served side by side.
    const other = known.find(
      (seen) =>
        seen.time >= since &&
        seen.servedTo !== servedTo &&
        seen.listHash !== event.listHash &&
        seen.listHash !== previousListHash &&
        seen.previousListHash !== event.listHash,
    );
    const next: State = {
      audiences: pushBounded(
        known.filter((seen) => seen !== own),
        {
          servedTo,
          listHash: event.listHash,
          ...(previousListHash === undefined ? {} : { previousListHash }),
          time: eventTime,
          eventId: event.eventId,
        },
        MAX_AUDIENCES,
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
