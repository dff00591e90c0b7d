/**
 * What the Azure Monitor tests and benchmark share: valid alerts, a credential for the local stand-in, and a
 * bounded wait. Not used in production code.
 */
import { createHash } from 'node:crypto';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { Alert } from '../../contracts/alert.ts';
import { STAND_IN_TOKEN } from './logs-ingestion-stand-in.ts';

/** A valid alert, distinct per `index`, with an id derived from `index` and `tag` like the runtime derives ids. */
export function alertFixture(index: number, tag = 'fixture', evidenceBytes = 64): Alert {
  return Alert.parse({
    schemaVersion: 1,
    alertId: createHash('sha256').update(`${tag}:${index}`).digest('hex').slice(0, 32),
    ruleId: 'session-reuse-across-users',
    ruleVersion: 1,
    severity: 'high',
    title: `Session reused by a second principal (${index})`,
    description: 'One MCP session id was presented by two different principals.',
    time: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    entities: { user: `user-${index}`, session: `session-${index}`, server: 'files', ip: '127.0.0.1' },
    evidence: { note: 'x'.repeat(evidenceBytes), index },
    owasp: ['MCP07'],
    attack: ['T1550.001'],
    eventIds: [`event-${index}`],
  });
}

/** Hands out the stand-in's token as if Entra ID had issued it. */
export const standInCredential: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: STAND_IN_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};
