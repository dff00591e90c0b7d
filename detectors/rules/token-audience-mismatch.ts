import { z } from 'zod';
import type { AuthEvent } from '../../contracts/mcp-event.ts';
import type { DetectionEnvironment, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Accepted so that existing configurations stay valid; expiry is judged by `expired-token-accepted` since v2. */
  clockSkewSeconds: z.number().int().min(0).default(60),
});
type Config = z.infer<typeof Config>;

/**
 * An accepted token that was not minted for this server: audience/resource of another service (the confused
 * deputy) or an issuer outside the trusted set (an expired one is `expired-token-accepted`'s). Each is a verifier that accepted
 * what the spec says it MUST reject.
 */
export const tokenAudienceMismatch: Rule<null, Config> = {
  meta: {
    id: 'token-audience-mismatch',
    version: 2,
    title: 'Accepted token not issued for this server',
    description:
      'The server accepted an access token whose audience or resource indicator names another service, whose ' +
      'issuer is not among the trusted issuers (expired tokens: see expired-token-accepted). MCP servers must validate that ' +
      'tokens were issued specifically for them (RFC 8707 audience binding); accepting others lets a token ' +
      'stolen from, or minted for, any service be replayed here.',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP01', 'MCP07'],
    attack: ['T1550.001', 'T1528'],
    falsePositives: [
      'A server reachable under several resource identifiers that were not all declared in expectedAudiences.',
    ],
    references: [REFERENCES.tokenAudience, REFERENCES.accessTokenUsage, REFERENCES.confusedDeputy],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) =>
    event.kind === 'auth' && event.outcome === 'accepted' && event.token !== undefined ? event.server.name : undefined,
  initialState: () => null,
  onEvent(_state, event, { environment }) {
    if (event.kind !== 'auth' || event.token === undefined) return { state: undefined };
    const problems = problemsOf(event, environment);
    if (problems.length === 0) return { state: undefined };
    const token = event.token;
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${token.fingerprint}`,
          title: 'Accepted token not issued for this server',
          description: `Server ${event.server.name} accepted a token with ${problems.join('; ')}.`,
          entities: entitiesOf(event),
          evidence: {
            problems,
            issuer: token.issuer ?? null,
            audience: token.audience.slice(0, 8),
            resource: token.resource ?? null,
            serverResource: event.server.resource ?? null,
            expiresAt: token.expiresAt ?? null,
            tokenFingerprint: token.fingerprint.slice(0, 28),
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};

function problemsOf(event: AuthEvent, environment: DetectionEnvironment): string[] {
  const token = event.token!;
  const problems: string[] = [];
  const declared = environment.expectedAudiences[event.server.name] ?? [];
  const presented = [...token.audience, ...(token.resource === undefined ? [] : [token.resource])];
  const declaredMatch = presented.some((value) => declared.includes(value));
  if (event.audienceMatchesServer === false && !declaredMatch)
    problems.push(`audience ${JSON.stringify(presented.slice(0, 4))} not this server`);
  else if (event.audienceMatchesServer === undefined && declared.length > 0 && !declaredMatch)
    problems.push(`audience ${JSON.stringify(presented.slice(0, 4))} not among the expected audiences`);
  if (
    environment.trustedIssuers.length > 0 &&
    token.issuer !== undefined &&
    !environment.trustedIssuers.includes(token.issuer)
  )
    problems.push(`untrusted issuer ${token.issuer}`);
  return problems;
}
