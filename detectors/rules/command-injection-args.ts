import { isIP } from 'node:net';
import { z } from 'zod';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';
import { SENSITIVE_FILE, SHELL_CHAIN, SUBSTITUTION, TRAVERSAL, URL_CANDIDATE } from './lib/argument-patterns.ts';
import { argumentTexts, excerpt, nameMatches, type LocatedText } from './lib/text.ts';

const Config = z.strictObject({
  /** Name tokens of tools that execute commands or code. */
  execTools: z
    .array(z.string())
    .default(['exec', 'execute', 'run', 'shell', 'command', 'cmd', 'bash', 'terminal', 'eval', 'script', 'powershell']),
  /** Name tokens of tools that read or write files. */
  fileTools: z
    .array(z.string())
    .default([
      'file',
      'files',
      'path',
      'dir',
      'directory',
      'read',
      'write',
      'open',
      'cat',
      'load',
      'save',
      'edit',
      'move',
      'copy',
      'delete',
    ]),
  /** Name tokens of tools that fetch URLs. */
  fetchTools: z
    .array(z.string())
    .default([
      'fetch',
      'url',
      'http',
      'request',
      'browse',
      'download',
      'scrape',
      'crawl',
      'webhook',
      'navigate',
      'get_url',
      'web',
    ]),
  /** Hosts a fetch tool must never be pointed at, besides loopback, private and link-local addresses. */
  internalHosts: z.array(z.string()).default(['localhost', 'metadata.google.internal', 'metadata', 'instance-data']),
});
type Config = z.infer<typeof Config>;

const DANGEROUS_SCHEMES = new Set(['file:', 'gopher:', 'dict:', 'ldap:', 'tftp:', 'jar:', 'netdoc:']);

interface Issue {
  kind: 'shell-chain' | 'substitution' | 'path-traversal' | 'sensitive-file' | 'internal-url' | 'dangerous-scheme';
  location: string;
  excerpt: string;
}

/**
 * Arguments that turn a tool against its host: shell metacharacters chaining commands, path traversal and
 * sensitive files for tools that touch files, internal addresses and dangerous schemes for tools that fetch.
 */
export const commandInjectionArgs: Rule<null, Config> = {
  meta: {
    id: 'command-injection-args',
    version: 1,
    title: 'Injection in tool arguments',
    description:
      'A tool that executes, touches files or fetches was called with arguments that chain shell commands ' +
      '(; && | backticks $() followed by curl, bash, rm …), traverse paths (../../, encoded dots, NUL) or ' +
      'name sensitive files, or point a fetch at loopback, private, link-local or cloud metadata addresses ' +
      'or at file:, gopher: and similar schemes (SSRF).',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP05'],
    attack: ['T1059', 'T1190', 'T1005'],
    falsePositives: [
      'Developer tools that legitimately fetch from localhost (dev servers) or run pipelines through a shell tool.',
      'Tool names that match a class by accident (tune the class token lists).',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.owaspSsrf, REFERENCES.owaspMcpTop10],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'call' && event.arguments !== undefined && event.tool !== undefined ? event.server.name : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'call' || event.arguments === undefined || event.tool === undefined) return { state: undefined };
    const classes = {
      exec: nameMatches(event.tool, config.execTools) !== undefined,
      file: nameMatches(event.tool, config.fileTools) !== undefined,
      fetch: nameMatches(event.tool, config.fetchTools) !== undefined,
    };
    const issues: Issue[] = [];
    for (const text of argumentTexts(event.arguments)) {
      if (text.location.endsWith('#key')) continue;
      // Outside exec tools only short single-line values (paths, urls) are checked for chaining: a file's
      // content legitimately holds shell scripts.
      if (classes.exec || ((classes.file || classes.fetch) && text.text.length <= 512 && !text.text.includes('\n')))
        issues.push(...shellIssues(text, classes.exec));
      if (classes.file) issues.push(...fileIssues(text));
      if (classes.fetch) issues.push(...urlIssues(text, config));
      if (issues.length >= 8) break;
    }
    if (issues.length === 0) return { state: undefined };
    const kinds = [...new Set(issues.map((issue) => issue.kind))].sort();
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.tool}\u0000${event.principal?.id ?? ''}\u0000${kinds.join(',')}`,
          title: 'Injection in tool arguments',
          description: `${kinds.join(', ')} in the arguments of ${event.tool} on server ${event.server.name}.`,
          entities: entitiesOf(event),
          evidence: {
            tool: event.tool,
            toolClasses: Object.keys(classes).filter((c) => classes[c as keyof typeof classes]),
            issues: issues.slice(0, 8),
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};

function hit(kind: Issue['kind'], { location, text }: LocatedText, match: RegExpExecArray): Issue {
  return { kind, location, excerpt: excerpt(text, match.index, match[0].length, 30) };
}

/** Chained commands anywhere; substitutions only where a shell runs the text. */
function shellIssues(text: LocatedText, exec: boolean): Issue[] {
  const issues: Issue[] = [];
  const chain = SHELL_CHAIN.exec(text.text);
  if (chain !== null) issues.push(hit('shell-chain', text, chain));
  const substitution = exec ? SUBSTITUTION.exec(text.text) : null;
  if (substitution !== null) issues.push(hit('substitution', text, substitution));
  return issues;
}

function fileIssues(text: LocatedText): Issue[] {
  const issues: Issue[] = [];
  const traversal = TRAVERSAL.exec(text.text);
  if (traversal !== null) issues.push(hit('path-traversal', text, traversal));
  const sensitive = SENSITIVE_FILE.exec(text.text);
  if (sensitive !== null) issues.push(hit('sensitive-file', text, sensitive));
  return issues;
}

function urlIssues(text: LocatedText, config: Config): Issue[] {
  const issues: Issue[] = [];
  URL_CANDIDATE.lastIndex = 0;
  for (
    let match = URL_CANDIDATE.exec(text.text);
    match !== null && issues.length < 4;
    match = URL_CANDIDATE.exec(text.text)
  ) {
    let url: URL;
    try {
      url = new URL(match[0]);
    } catch {
      continue;
    }
    if (DANGEROUS_SCHEMES.has(url.protocol)) issues.push(hit('dangerous-scheme', text, match));
    else if (internalHost(url.hostname, config)) issues.push(hit('internal-url', text, match));
  }
  return issues;
}

/** Loopback, private (RFC 1918, ULA), link-local (cloud metadata), unspecified, or a declared internal name. */
export function internalHost(hostname: string, config: Pick<Config, 'internalHosts'>): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (config.internalHosts.includes(host) || host.endsWith('.localhost') || host.endsWith('.internal')) return true;
  const version = isIP(host);
  if (version === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 127 ||
      a === 10 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (version === 6) {
    return (
      host === '::1' || host === '::' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith('::ffff:')
    );
  }
  return false;
}
