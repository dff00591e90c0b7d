import { z } from 'zod';
import type { AlertEntities } from '../../contracts/alert.ts';
import type { CallEvent } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { sizeOf, touch, trimOldest } from './lib/recency.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Width of one counting bucket, in seconds. */
  bucketSeconds: z.number().int().min(1).default(60),
  /** Completed buckets kept as the baseline (idle buckets count as zero). */
  historyBuckets: z.number().int().min(3).max(1440).default(60),
  /** Buckets of history needed before the baseline is trusted. */
  minHistoryBuckets: z.number().int().min(1).default(10),
  /** Alert above median + this many scaled MADs (1.4826 × MAD estimates one standard deviation). */
  madMultiplier: z.number().min(1).default(6),
  /** ... and above this many times the median ... */
  medianRatio: z.number().min(1).default(4),
  /** ... and never below this many calls in one bucket. */
  minCalls: z.number().int().min(1).default(30),
  /** A burst: this many calls by one principal or to one tool within `burstSeconds`, whatever the baseline. */
  burstCalls: z.number().int().min(2).default(60),
  burstSeconds: z.number().int().min(1).default(10),
  /** Principals counted per tool as active (a tool's thresholds scale with them); more count as this many. */
  maxActivePrincipals: z.number().int().min(1).max(10_000).default(256),
  /** Principals and tools tracked per server (least recently seen evicted first). */
  maxEntities: z.number().int().min(1).max(100_000).default(2_000),
});
type Config = z.infer<typeof Config>;

interface Counter {
  bucket: number;
  count: number;
  /** Per completed bucket: calls, or for a tool calls per active principal. */
  history: number[];
  /** Median and MAD of `history`, computed when a bucket completes (not on every call); absent in v1 checkpoints. */
  median?: number;
  mad?: number;
  /** For a tool: principal → start of the last burst window it called in (the active ones are recent). */
  principals?: Record<string, number>;
  /** For a tool: distinct principals in the current bucket. */
  bucketPrincipals?: number;
  burstBucket: number;
  burstCount: number;
  /** Bucket starts already alerted, so one window raises one finding per kind. */
  alertedBucket: number;
  alertedBurst: number;
}

interface State {
  /** `principal:<id>` or `tool:<name>` → counter. */
  counters: Record<string, Counter>;
}

/**
 * Call volume of one principal or one tool far above its own baseline, by robust statistics (median and MAD
 * over per-bucket counts, so earlier spikes do not inflate the baseline), and absolute bursts.
 */
export const callRateAnomaly: Rule<State, Config> = {
  meta: {
    id: 'call-rate-anomaly',
    version: 2,
    title: 'Tool call volume far above its baseline',
    description:
      'A principal’s or a tool’s calls in one bucket exceed its own baseline (median + k scaled MADs, a multiple ' +
      'of the median and a floor), or a burst of calls arrives within seconds. A tool’s baseline and burst ' +
      'threshold are per active principal, so a fleet sharing a tool is compared with itself, not with one user. Runaway agents, scripted ' +
      'enumeration and data harvesting through a tool, and cost harvesting show up as volume first.',
    severity: 'medium',
    maturity: 'experimental',
    owasp: ['MCP08', 'MCP02'],
    attack: ['T1119', 'T1499', 'AML.T0034'],
    falsePositives: [
      'Batch jobs and evaluations that legitimately fan out many calls (they have their own baseline after a while).',
      'A new principal’s first heavy day (no baseline yet: only the burst check applies).',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.owaspMcpTop10],
  },
  configSchema: Config,
  scope: 'server',
  keyOf: (event) => (event.kind === 'call' && event.method === 'tools/call' ? event.server.name : undefined),
  initialState: () => ({ counters: {} }),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind !== 'call') return { state };
    // Updated in place: a server's counters are many and change on every call (the engine owns the state).
    const { counters } = state;
    const findings: Finding[] = [];
    let added = false;
    if (event.principal !== undefined)
      added = count(counters, `principal:${event.principal.id}`, undefined, event, eventTime, config, findings);
    if (event.tool !== undefined)
      added = count(counters, `tool:${event.tool}`, event.principal?.id, event, eventTime, config, findings) || added;
    if (added) trimOldest(counters, config.maxEntities);
    return findings.length === 0 ? { state } : { state, findings };
  },
};

/** Counts the call for one principal or tool; true when the entity was new. */
function count(
  counters: Record<string, Counter>,
  entity: string,
  principal: string | undefined,
  event: CallEvent,
  eventTime: number,
  config: Config,
  findings: Finding[],
): boolean {
  const previous = counters[entity];
  const counter = advance(previous, eventTime, config, principal);
  const finding = check(entity, counter, event, config);
  if (finding !== undefined) findings.push(finding);
  touch(counters, entity, counter); // key order is least recently seen first
  return previous === undefined;
}

function advance(previous: Counter | undefined, eventTime: number, config: Config, principal?: string): Counter {
  const bucketMs = config.bucketSeconds * 1000;
  const burstMs = config.burstSeconds * 1000;
  const bucket = Math.floor(eventTime / bucketMs) * bucketMs;
  const burstBucket = Math.floor(eventTime / burstMs) * burstMs;
  const counter: Counter = previous ?? {
    bucket,
    count: 0,
    history: [],
    median: 0,
    mad: 0,
    burstBucket,
    burstCount: 0,
    alertedBucket: -1,
    alertedBurst: -1,
  };
  if (bucket > counter.bucket) {
    const idle = Math.min(config.historyBuckets, (bucket - counter.bucket) / bucketMs - 1);
    const completed =
      counter.bucketPrincipals === undefined ? counter.count : counter.count / Math.max(1, counter.bucketPrincipals);
    counter.history.push(completed, ...Array.from({ length: idle }, () => 0));
    counter.history = counter.history.slice(-config.historyBuckets);
    const median = medianOf(counter.history);
    counter.median = median;
    counter.mad = medianOf(counter.history.map((count) => Math.abs(count - median)));
    counter.bucket = bucket;
    counter.count = 0;
    if (counter.bucketPrincipals !== undefined) counter.bucketPrincipals = 0;
  }
  if (burstBucket > counter.burstBucket) {
    counter.burstBucket = burstBucket;
    counter.burstCount = 0;
  }
  if (principal !== undefined) {
    const principals = (counter.principals ??= {});
    const last = principals[principal];
    if (last === undefined || last < counter.bucket) counter.bucketPrincipals = (counter.bucketPrincipals ?? 0) + 1;
    const active = activeOf(principals);
    const held = Object.hasOwn(principals, principal);
    // A principal calling again in the window of its last call leaves the window counts as they are.
    const sameWindow = held && last === burstBucket && principal !== '__proto__';
    if (held && !sameWindow) moveWindow(active, last!, -1);
    touch(principals, principal, burstBucket);
    if (!sameWindow && Object.hasOwn(principals, principal)) moveWindow(active, burstBucket, 1);
    if (sizeOf(principals) > config.maxActivePrincipals)
      for (const [, seen] of trimOldest(principals, config.maxActivePrincipals)) moveWindow(active, seen, -1);
  }
  // A late event (older bucket) counts into the current one: the runtime keeps per-key order, lateness is rare.
  counter.count += 1;
  counter.burstCount += 1;
  return counter;
}

interface Active {
  /** Burst window start → principals whose last call was in it (own keys only, as `Object.values` sees them). */
  windows: Map<number, number>;
  /** Principals that called since `since`. */
  since: number;
  count: number;
}

/**
 * A tool's principals by the burst window of their last call, and how many called since `since`: kept up to
 * date as principals call, and counted over the windows (not the principals) when `since` moves, once per burst
 * window. Beside the state, not in it (rebuilt from it after a restore). Windows before `since` are dropped:
 * `since` never moves back, so their counts no longer matter.
 */
const ACTIVE = new WeakMap<Record<string, number>, Active>();

function activeOf(principals: Record<string, number>): Active {
  let active = ACTIVE.get(principals);
  if (active === undefined) {
    active = { windows: new Map(), since: Number.NaN, count: 0 };
    for (const seen of Object.values(principals)) moveWindow(active, seen, 1);
    ACTIVE.set(principals, active);
  }
  return active;
}

function moveWindow(active: Active, window: number, principals: number): void {
  active.windows.set(window, (active.windows.get(window) ?? 0) + principals);
  if (window >= active.since) active.count += principals;
}

/** Principals that called a tool in the current or the previous burst window (1 for a principal's own counter). */
function activePrincipals(counter: Counter, config: Config): number {
  if (counter.principals === undefined) return 1;
  const since = counter.burstBucket - config.burstSeconds * 1000;
  const active = activeOf(counter.principals);
  if (active.since !== since) {
    active.since = since;
    active.count = 0;
    for (const [window, principals] of active.windows) {
      if (window >= since) active.count += principals;
      else active.windows.delete(window);
    }
  }
  return Math.max(1, active.count);
}

function check(entity: string, counter: Counter, event: CallEvent, config: Config): Finding | undefined {
  // A tool shared by a fleet sees the sum of its principals' calls: its thresholds are per active principal.
  const active = activePrincipals(counter, config);
  if (counter.burstCount >= config.burstCalls * active && counter.alertedBurst !== counter.burstBucket) {
    counter.alertedBurst = counter.burstBucket;
    return {
      subject: `${event.server.name}\u0000${entity}\u0000burst`,
      windowStart: counter.burstBucket,
      title: 'Burst of tool calls',
      description: `${counter.burstCount} calls by ${entity} on server ${event.server.name} within ${config.burstSeconds} s.`,
      entities: entitiesFor(entity, event),
      evidence: {
        entity,
        calls: counter.burstCount,
        seconds: config.burstSeconds,
        threshold: config.burstCalls * active,
        activePrincipals: active,
      },
      eventIds: [event.eventId],
    };
  }
  if (counter.history.length < config.minHistoryBuckets || counter.alertedBucket === counter.bucket) return undefined;
  counter.median ??= medianOf(counter.history);
  const median = counter.median;
  counter.mad ??= medianOf(counter.history.map((count) => Math.abs(count - median)));
  const mad = counter.mad;
  // For a tool, the baseline is calls per active principal, and so is the bucket it is compared with.
  const perPrincipal =
    counter.bucketPrincipals === undefined ? counter.count : counter.count / Math.max(1, counter.bucketPrincipals);
  const threshold = Math.max(
    median + config.madMultiplier * Math.max(1.4826 * mad, 1),
    config.medianRatio * Math.max(median, 1),
  );
  if (counter.count < config.minCalls || perPrincipal < threshold) return undefined;
  counter.alertedBucket = counter.bucket;
  return {
    subject: `${event.server.name}\u0000${entity}\u0000baseline`,
    windowStart: counter.bucket,
    title: 'Tool call volume far above its baseline',
    description: `${counter.count} calls by ${entity} on server ${event.server.name} in ${config.bucketSeconds} s, baseline median ${median}.`,
    entities: entitiesFor(entity, event),
    evidence: {
      entity,
      calls: counter.count,
      bucketSeconds: config.bucketSeconds,
      median,
      mad,
      threshold: Math.ceil(threshold),
      ...(counter.bucketPrincipals === undefined ? {} : { principals: counter.bucketPrincipals }),
      historyBuckets: counter.history.length,
    },
    eventIds: [event.eventId],
  };
}

/** The event's entities, with the counted principal or tool. */
function entitiesFor(entity: string, event: CallEvent): AlertEntities {
  const at = entity.indexOf(':');
  const name = entity.slice(at + 1);
  return { ...entitiesOf(event), ...(entity.slice(0, at) === 'tool' ? { tool: name } : { user: name }) };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
