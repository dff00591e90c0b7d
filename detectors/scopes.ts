/**
 * Key scopes: what a rule's state is partitioned by, and where an event goes for the rules of each scope.
 *
 * Events arrive keyed by session, else principal, else server (tool catalogs by server). The engine of scope
 * S and partition p owns every scope key k with `murmur2(k) % partitions(S) = p`. An event read from events
 * partition p whose scope key also hashes to p is processed there at once; any other is re-keyed into the
 * repartition topic `<prefix>.<scope>.v1`, explicitly on partition `murmur2(k) % partitions(S)`. The group
 * reads the events and repartition topics together with a co-partitioned assignment, so the engine of S and p
 * sees both ways in. `global` has one partition: its engine sees every event its rules ask for.
 */
import type { McpEvent } from '../contracts/mcp-event.ts';
import { partitionForKey } from '../transport/murmur2.ts';
import type { EnabledRule } from './engine.ts';
import type { KeyScope } from './types.ts';

export const KEY_SCOPES: readonly KeyScope[] = ['session', 'principal', 'server', 'tool', 'global'];

export const REPARTITION_TOPIC_PREFIX = 'mcpwatch.repartition';

/** `mcpwatch.repartition.<scope>.v1` (tests pass their own prefix). */
export function repartitionTopicOf(prefix: string, scope: KeyScope): string {
  return `${prefix}.${scope}.v1`;
}

/** Partitions of a scope: as many as the events topic (co-partitioned), one for `global`. */
export function scopePartitions(scope: KeyScope, eventPartitions: number): number {
  return scope === 'global' ? 1 : eventPartitions;
}

/**
 * Whether the engines of a scope read events of several events partitions, interleaved as they arrive, and so
 * hold them to run in event-time order: every scope but `session`, once there is more than one partition. A
 * `session` engine reads each session's events from the one partition they are keyed by (only tool catalogs
 * hop to it, and run beside its clock: `ScopeRunner.processRekeyed`).
 */
export function holdsForEventTime(scope: KeyScope, eventPartitions: number): boolean {
  return scope !== 'session' && eventPartitions > 1;
}

/**
 * The key an event has in a scope. Prefixed like the events' own key (`partitionKeyOf`), so the `session` key
 * equals it for every event but a tool catalog seen in a session. An event without what the scope is about
 * falls back to a coarser key that is still a function of it (a rule's key must be one).
 */
export function scopeKeyOf(scope: KeyScope, event: McpEvent): string {
  switch (scope) {
    case 'session':
      if (event.sessionId !== undefined) return `session:${event.sessionId}`;
      if (event.principal !== undefined) return `principal:${event.principal.id}`;
      return `server:${event.server.name}`;
    case 'principal':
      return event.principal === undefined ? `server:${event.server.name}` : `principal:${event.principal.id}`;
    case 'server':
      return `server:${event.server.name}`;
    case 'tool':
      return `tool:${event.server.name}\u0000${event.kind === 'call' ? (event.tool ?? '') : ''}`;
    case 'global':
      return 'global';
  }
}

export function scopePartitionOf(scope: KeyScope, event: McpEvent, eventPartitions: number): number {
  const partitions = scopePartitions(scope, eventPartitions);
  return partitions === 1 ? 0 : partitionForKey(scopeKeyOf(scope, event), partitions);
}

/** The enabled rules grouped by scope, in catalog order within each; scopes without rules are left out. */
export function rulesByScope(rules: readonly EnabledRule[]): Map<KeyScope, EnabledRule[]> {
  const byScope = new Map<KeyScope, EnabledRule[]>();
  for (const scope of KEY_SCOPES) {
    const scoped = rules.filter((enabled) => enabled.rule.scope === scope);
    if (scoped.length > 0) byScope.set(scope, scoped);
  }
  return byScope;
}

/** Whether any of `rules` keys this event (a rule that throws counts: the engine then records its error). */
export function anyRuleWants(rules: readonly EnabledRule[], event: McpEvent): boolean {
  for (const { rule, config } of rules) {
    try {
      if (rule.keyOf(event, config) !== undefined) return true;
    } catch {
      return true;
    }
  }
  return false;
}
