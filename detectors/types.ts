import type { z } from 'zod';
import type { AlertEntities, OwaspMcpCode, Severity } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';

/**
 * A detection rule: a pure function over (state, event, context) returning new state and findings. It never
 * touches Kafka, the wall clock or the network; the runtime owns I/O, time, keyed state, checkpoints,
 * deduplication and delivery. State must be plain JSON (it is checkpointed as JSON). The engine hands a rule
 * the only reference to its state, so a rule whose state is large may update it in place and return it.
 */
export interface Rule<State = unknown, Config = unknown> {
  readonly meta: RuleMeta;
  /**
   * What every key `keyOf` returns is a function of: the runtime sends all events of one scope key to one
   * engine (repartitioning through `mcpwatch.repartition.<scope>.v1` when the events' own key differs), so a
   * rule sees every event of a key in order, on one partition or many. See `scopes.ts`.
   */
  readonly scope: KeyScope;
  /** `z.strictObject` with a default for every field, so an empty config section is valid. */
  readonly configSchema: z.ZodType<Config>;
  /**
   * The state key this event belongs to for this rule, or undefined when the rule ignores it. The runtime
   * guarantees that all events with one key are seen in order by one instance (it repartitions if needed).
   */
  keyOf(event: McpEvent, config: Config): string | undefined;
  initialState(key: string): State;
  onEvent(state: State, event: McpEvent, context: RuleContext<Config>): RuleStep<State>;
  /** Called when event time (the watermark) passes a timer the rule asked for. */
  onTimer?(state: State, timer: FiredTimer, context: RuleContext<Config>): RuleStep<State>;
}

/**
 * The key a rule's state is partitioned by. `session` is the events' own key (session, else principal, else
 * server), so rules of that scope need no repartitioning for most events; `global` is one partition that sees
 * every event any of its rules asks for.
 */
export type KeyScope = 'session' | 'principal' | 'server' | 'tool' | 'global';

export type Maturity = 'experimental' | 'test' | 'stable';

export interface RuleMeta {
  /** Stable, kebab-case; part of every alert id. */
  id: string;
  /** Bump when the logic changes what fires; part of every alert id. */
  version: number;
  title: string;
  description: string;
  severity: Severity;
  maturity: Maturity;
  owasp: OwaspMcpCode[];
  /** MITRE ATT&CK or ATLAS technique ids. */
  attack: string[];
  falsePositives: string[];
  /** The MCP specification sections (and research) the rule enforces, as URLs. */
  references: string[];
  /** The protocol versions whose traffic the rule applies to, when not all (e.g. only those with sessions). */
  protocolVersions?: string;
}

export interface RuleContext<Config> {
  /** Event time of the event being processed (ms since epoch); for timers, the timer's time. */
  eventTime: number;
  /** No event older than this is expected any more (max event time seen − allowed lateness). */
  watermark: number;
  config: Config;
  /** Deployment-wide facts every rule may consult. */
  environment: DetectionEnvironment;
}

export interface DetectionEnvironment {
  /** Servers declared in the inventory (by `server.name`); empty means no inventory was declared. */
  knownServers: readonly string[];
  trustedIssuers: readonly string[];
  /** Audiences/resources accepted per server name, besides the server's own resource identifier. */
  expectedAudiences: Readonly<Record<string, readonly string[]>>;
}

export interface RuleStep<State> {
  /** The new state; `undefined` forgets the key. */
  state: State | undefined;
  findings?: Finding[];
  /** Timers to set, by name; setting a name again moves it. */
  timers?: TimerRequest[];
}

export interface TimerRequest {
  name: string;
  /** Event time (ms) at which the timer fires. */
  at: number;
}

export interface FiredTimer extends TimerRequest {
  key: string;
}

/** What a rule reports; the runtime turns it into an `Alert` with a deterministic id and suppression. */
export interface Finding {
  /** What the alert is about, e.g. the session id: with the rule id, version and window it makes the alert id. */
  subject: string;
  /** Start of the time window the finding belongs to (ms), when a rule counts per window. */
  windowStart?: number;
  /** Overrides `meta.severity` when a variant of the attack is more or less severe. */
  severity?: Severity;
  title: string;
  description: string;
  entities: AlertEntities;
  /** Short and redacted: never a raw token or secret. */
  evidence: Record<string, unknown>;
  eventIds: string[];
}
