/**
 * The MITRE ATT&CK (Enterprise v16) vocabulary Sentinel analytics rules accept, reduced to what the shipped
 * rules use: Sentinel's tactic names, and for each technique the tactics ATT&CK files it under. A rule naming a
 * technique missing here fails validation until it is added (with its tactics from attack.mitre.org).
 */

/** Tactic names as Sentinel spells them in `tactics` (ARM `AttackTactic`). */
export const SENTINEL_TACTICS = [
  'Reconnaissance',
  'ResourceDevelopment',
  'InitialAccess',
  'Execution',
  'Persistence',
  'PrivilegeEscalation',
  'DefenseEvasion',
  'CredentialAccess',
  'Discovery',
  'LateralMovement',
  'Collection',
  'Exfiltration',
  'CommandAndControl',
  'Impact',
  'ImpairProcessControl',
  'InhibitResponseFunction',
] as const;

export type SentinelTactic = (typeof SENTINEL_TACTICS)[number];

/** Parent technique id → the tactics it belongs to. Sub-techniques inherit their parent's tactics. */
export const TECHNIQUE_TACTICS: Readonly<Record<string, readonly SentinelTactic[]>> = {
  T1005: ['Collection'],
  T1027: ['DefenseEvasion'],
  T1036: ['DefenseEvasion'],
  T1056: ['Collection', 'CredentialAccess'],
  T1059: ['Execution'],
  T1078: ['DefenseEvasion', 'Persistence', 'PrivilegeEscalation', 'InitialAccess'],
  T1110: ['CredentialAccess'],
  T1190: ['InitialAccess'],
  T1195: ['InitialAccess'],
  T1204: ['Execution'],
  T1213: ['Collection'],
  T1526: ['Discovery'],
  T1528: ['CredentialAccess'],
  T1539: ['CredentialAccess'],
  T1550: ['DefenseEvasion', 'LateralMovement'],
  T1552: ['CredentialAccess'],
  T1562: ['DefenseEvasion'],
  T1563: ['LateralMovement'],
  T1566: ['InitialAccess'],
  T1567: ['Exfiltration'],
};

const TECHNIQUE_ID = /^(T\d{4})(\.\d{3})?$/;

/** The parent id (`T1550` for `T1550.001`), or undefined when `id` is not an ATT&CK technique id. */
export function parentTechnique(id: string): string | undefined {
  return TECHNIQUE_ID.exec(id)?.[1];
}
