import { z } from 'zod';
import type { InputRequestEvent } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { bounded } from './lib/text.ts';

const SPEC = 'https://modelcontextprotocol.io/specification/2026-07-28';

const Config = z.strictObject({
  /** Hosts (exact, or a parent domain of the URL's host) a URL-mode elicitation may send the user to. */
  trustedHosts: z.array(z.string().min(1).max(256)).max(256).default([]),
});
type Config = z.infer<typeof Config>;

/**
 * Words that name a credential or payment datum. One alternation of literals with optional single separators:
 * no quantified group, linear in the text.
 */
const CREDENTIAL =
  /\b(?:pass(?:word|wd|phrase|code)|api[ _-]?key|access[ _-]?token|auth[ _-]?token|refresh[ _-]?token|bearer|client[ _-]?secret|secret[ _-]?key|private[ _-]?key|seed[ _-]?phrase|recovery[ _-]?phrase|mnemonic|one[ _-]?time[ _-]?(?:code|password)|otp|2fa[ _-]?code|mfa[ _-]?code|pin[ _-]?code|credit[ _-]?card|card[ _-]?number|cvv|cvc|security[ _-]?code|iban|routing[ _-]?number|ssn|social[ _-]?security)\b/i;
/** Field names that are credentials by themselves (`token`, `secret`, `pin` as a whole name, not inside words). */
const CREDENTIAL_FIELD_NAME = /^(?:token|secret|pin|pwd|pass|key|otp|cvv|cvc)$/i;

function credentialWords(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return CREDENTIAL.exec(bounded(text))?.[0];
}

/** Whether `host` is `trusted` or a subdomain of it. */
function hostWithin(host: string, trusted: string): boolean {
  const h = host.toLowerCase();
  const t = trusted.toLowerCase();
  return h === t || h.endsWith(`.${t}`);
}

/** The registrable-looking parent of a host (its last two labels): `mcp.example.com` → `example.com`. */
function parentDomain(host: string): string {
  return host.split('.').slice(-2).join('.');
}

function serverHost(resource: string | undefined): string | undefined {
  if (resource === undefined) return undefined;
  try {
    return new URL(resource).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A server asking the user for passwords, tokens, keys or payment data through elicitation: in a form (which the
 * spec forbids for sensitive data), or by sending the user to a URL on a domain that is not the server's.
 */
export const elicitationCredentialRequest: Rule<null, Config> = {
  meta: {
    id: 'elicitation-credential-request',
    version: 1,
    title: 'Server asks the user for credentials through elicitation',
    description:
      'An elicitation request (an InputRequiredResult input request from 2026-07-28, or the server’s own ' +
      'elicitation/create before) asks the user for a password, token, API key, private key, one-time code or ' +
      'payment card data in form mode, which the specification forbids (sensitive data must go through URL ' +
      'mode), or sends the user in URL mode to a page on a domain that is neither the server’s nor trusted while ' +
      'the message or the page speaks of credentials or payment. The agent relays the server’s words, so this ' +
      'is phishing through the agent.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP06', 'MCP01'],
    attack: ['T1566.002', 'T1056.003'],
    falsePositives: [
      'A server that signs the user in to a third-party service through URL mode on that service’s own domain (add it to trustedHosts).',
      'A form asking for a non-secret that shares a word with a credential (e.g. “PIN code of the parcel locker”).',
    ],
    references: [`${SPEC}/client/elicitation`, `${SPEC}/basic/patterns/mrtr`],
  },
  scope: 'server',
  configSchema: Config,
  keyOf: (event) =>
    event.kind === 'input-request' && event.inputMethod === 'elicitation/create' ? event.server.name : undefined,
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'input-request') return { state: undefined };
    const finding = event.elicitationMode === 'url' ? urlFinding(event, config) : formFinding(event);
    return { state: undefined, ...(finding === undefined ? {} : { findings: [finding] }) };
  },
};

function formFinding(event: InputRequestEvent): Finding | undefined {
  const fields: { field: string; matched: string }[] = [];
  for (const field of event.requestedFields ?? []) {
    const matched =
      (CREDENTIAL_FIELD_NAME.test(field.name) ? field.name : undefined) ??
      credentialWords(field.name.replaceAll(/[_-]/g, ' ')) ??
      credentialWords(field.title) ??
      credentialWords(field.description) ??
      (field.format === 'password' ? 'format: password' : undefined);
    if (matched !== undefined) fields.push({ field: field.name, matched });
  }
  const messageWord = credentialWords(event.message);
  // A message alone that mentions a password but asks for no field is a notice, not a request.
  if (fields.length === 0 && (messageWord === undefined || (event.requestedFields ?? []).length === 0))
    return undefined;
  return {
    subject: `${event.server.name}\u0000form\u0000${event.tool ?? event.prompt ?? event.method ?? ''}\u0000${fields.map((f) => f.field).join(',')}`,
    title: 'Server asks the user for credentials in an elicitation form',
    description:
      `Server ${event.server.name} asked the user, through a form elicitation` +
      `${event.tool === undefined ? '' : ` during tool ${event.tool}`}, for ` +
      `${fields.length > 0 ? fields.map((f) => f.field).join(', ') : `"${messageWord ?? ''}"`}: sensitive data must never go through form mode.`,
    entities: entitiesOf(event),
    evidence: {
      mode: 'form',
      delivery: event.delivery,
      fields,
      ...(messageWord === undefined ? {} : { messageMentions: messageWord }),
      ...(event.tool === undefined ? {} : { tool: event.tool }),
    },
    eventIds: [event.eventId],
  };
}

function urlFinding(event: InputRequestEvent, config: Config): Finding | undefined {
  const host = event.urlHost;
  if (host === undefined || event.url === undefined) return undefined;
  const own = serverHost(event.server.resource);
  const trusted =
    config.trustedHosts.some((trustedHost) => hostWithin(host, trustedHost)) ||
    (own !== undefined && hostWithin(host, parentDomain(own)));
  // Without the server's own domain or a trusted list, no URL can be called foreign.
  if (trusted || (own === undefined && config.trustedHosts.length === 0)) return undefined;
  const word = credentialWords(event.message) ?? credentialWords(event.url.replaceAll(/[/_.-]/g, ' '));
  if (word === undefined) return undefined;
  return {
    subject: `${event.server.name}\u0000url\u0000${host}`,
    title: 'Server sends the user to a foreign site for credentials',
    description:
      `Server ${event.server.name} sent the user, through a URL elicitation, to ${host}, which is not the ` +
      `server’s domain${own === undefined ? '' : ` (${own})`} nor trusted, for "${word}".`,
    entities: entitiesOf(event),
    evidence: {
      mode: 'url',
      delivery: event.delivery,
      url: event.url,
      urlHost: host,
      ...(own === undefined ? {} : { serverHost: own }),
      mentions: word,
      ...(event.tool === undefined ? {} : { tool: event.tool }),
    },
    eventIds: [event.eventId],
  };
}
