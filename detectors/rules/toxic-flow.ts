import { z } from 'zod';
import type { CallEvent } from '../../contracts/mcp-event.ts';
import type { Rule } from '../types.ts';
import { entitiesOf, sessionKeyOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';
import { nameMatches } from './lib/text.ts';

const Config = z.strictObject({
  /** Name tokens of tools that bring untrusted content in (web, issues, mail, chat). */
  untrustedSources: z
    .array(z.string())
    .default([
      'fetch',
      'browse',
      'scrape',
      'crawl',
      'web',
      'search',
      'issue',
      'issues',
      'email',
      'emails',
      'mail',
      'inbox',
      'message',
      'messages',
      'comments',
      'url',
      'rss',
    ]),
  /** Name tokens of tools that read sensitive data (files, secrets, private repositories, databases). */
  sensitiveSources: z
    .array(z.string())
    .default([
      'read_file',
      'file_contents',
      'secret',
      'secrets',
      'credential',
      'credentials',
      'password',
      'env',
      'vault',
      'private',
      'query',
      'database',
      'db',
      'customer',
      'keychain',
      'ssh',
    ]),
  /** Name tokens of tools that send data out. */
  externalSinks: z
    .array(z.string())
    .default([
      'send',
      'post',
      'publish',
      'upload',
      'create_issue',
      'create_pull_request',
      'comment',
      'add_comment',
      'create_comment',
      'reply',
      'forward',
      'webhook',
      'share',
      'tweet',
      'push',
      'http_post',
      'create_gist',
    ]),
  /** The three steps must happen within this many minutes. */
  windowMinutes: z.number().int().min(1).default(60),
});
type Config = z.infer<typeof Config>;

interface Step {
  tool: string;
  time: number;
  eventId: string;
  /** `owner/name` of the repository the call's arguments name, when they name one. */
  repository?: string;
}

interface State {
  untrusted?: Step;
  sensitive?: Step;
}

/**
 * The lethal trifecta in one session: untrusted content read (which may carry instructions), then sensitive
 * data read, then data sent out. Each call may be harmless alone; the order is what exfiltration looks like.
 */
export const toxicFlow: Rule<State, Config> = {
  meta: {
    id: 'toxic-flow',
    version: 2,
    title: 'Untrusted input, sensitive read, then external write in one session',
    description:
      'Within one session (or principal, where sessions are absent) a tool that reads untrusted content was ' +
      'followed by a tool that reads sensitive data and then by a tool that writes to an external ' +
      'destination, within the window. This is the shape of indirect prompt injection turned exfiltration ' +
      '(e.g. a public GitHub issue steering an agent to leak a private repository). A read of another repository ' +
      'than the one the untrusted input came from counts as sensitive whatever the tool is called. Tool classes ' +
      'are configurable.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP06', 'MCP10'],
    attack: ['AML.T0051.001', 'AML.T0057', 'T1567'],
    falsePositives: [
      'Agents whose normal work is triage: read issues, read code, post a comment (tune the classes or window).',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.invariantGithub],
  },
  configSchema: Config,
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'call' && event.tool !== undefined
      ? (sessionKeyOf(event) ??
        (event.principal === undefined ? undefined : `${event.server.name}\u0000principal\u0000${event.principal.id}`))
      : undefined,
  initialState: () => ({}),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind !== 'call' || event.tool === undefined) return { state };
    const window = config.windowMinutes * 60_000;
    const untrusted = freshStep(state.untrusted, eventTime, window);
    // Nothing to remember is the initial state: the key is not kept (most sessions never call an untrusted source).
    if (untrusted === undefined)
      return classOf(event, config.untrustedSources)
        ? { state: { untrusted: stepOf(event.tool, event.eventId, eventTime, repositoryOf(event)) } }
        : { state: undefined };
    const sensitive = freshStep(state.sensitive, eventTime, window);
    const repository = repositoryOf(event);
    if (sensitive !== undefined && classOf(event, config.externalSinks)) {
      return {
        state: {},
        findings: [
          {
            subject: `${event.server.name}\u0000${event.sessionId ?? event.principal?.id ?? ''}\u0000${untrusted.eventId}`,
            title: 'Untrusted input, sensitive read, then external write in one session',
            description: `${untrusted.tool} (untrusted input), then ${sensitive.tool} (sensitive read), then ${event.tool} (external write) on server ${event.server.name}.`,
            entities: entitiesOf(event),
            evidence: {
              untrustedInput: untrusted.tool,
              sensitiveRead: sensitive.tool,
              externalWrite: event.tool,
              minutes: Math.round((eventTime - untrusted.time) / 600) / 100,
            },
            eventIds: [untrusted.eventId, sensitive.eventId, event.eventId],
          },
        ],
      };
    }
    const readsAnotherRepository =
      untrusted.repository !== undefined &&
      repository !== undefined &&
      repository !== untrusted.repository &&
      !classOf(event, config.externalSinks);
    if (readsAnotherRepository || classOf(event, config.sensitiveSources))
      return { state: { untrusted, sensitive: stepOf(event.tool, event.eventId, eventTime, repository) } };
    if (classOf(event, config.untrustedSources))
      return {
        state:
          sensitive !== undefined
            ? { untrusted, sensitive }
            : { untrusted: stepOf(event.tool, event.eventId, eventTime, repository) },
      };
    return { state: sensitive === undefined ? { untrusted } : { untrusted, sensitive } };
  },
};

function freshStep(step: Step | undefined, eventTime: number, window: number): Step | undefined {
  return step !== undefined && eventTime - step.time <= window ? step : undefined;
}

function stepOf(tool: string, eventId: string, time: number, repository: string | undefined): Step {
  return { tool, time, eventId, ...(repository === undefined ? {} : { repository }) };
}

function classOf(event: CallEvent, tokens: readonly string[]): boolean {
  return event.tool !== undefined && nameMatches(event.tool, tokens) !== undefined;
}

const SEARCH_REPOSITORY = /\brepo:([\w.-]{1,100}\/[\w.-]{1,100})/;

/** The repository a call names: `owner` and `repo` arguments, or `repo:owner/name` in a search query. */
function repositoryOf(event: CallEvent): string | undefined {
  if (event.arguments === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.arguments);
  } catch {
    return undefined; // cut at the export bound: no repository to compare
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { owner, repo, q, query } = parsed as Record<string, unknown>;
  if (typeof owner === 'string' && typeof repo === 'string') return `${owner}/${repo}`.toLowerCase();
  const search = typeof q === 'string' ? q : typeof query === 'string' ? query : undefined;
  return search === undefined ? undefined : SEARCH_REPOSITORY.exec(search.slice(0, 2048))?.[1]?.toLowerCase();
}
