/**
 * The classifier stage: an enrichment beside the detectors that asks a classifier backend about content the
 * text rules may miss, and writes each verdict back into the events log as a `classification` event, keyed
 * like the event it is about. The engine stays a pure function of the log: rules read verdicts as events, a
 * replay of the log gives the same alerts without asking anyone, and the backend never sits in the detectors'
 * path.
 *
 * It is a consumer group of its own on the events topic (`<groupId>.classifier`), so nothing it waits for can
 * hold back detection. Per batch it extracts the pieces of content (tool definitions and server instructions
 * of catalogs, once per server and definition hash; results of calls), answers what its cache knows at once,
 * joins what is already queued or in flight, queues the rest (bounded; beyond, dropped and counted) and
 * commits. A clean verdict is written once per content the backend answered (the log records what was
 * checked); an attack verdict for every occurrence, cached or not, so each occurrence alerts with its own
 * session and user. Requests go out at most `maxConcurrent` at a time, `requestsPerMinute` per rolling minute, each
 * within `requestTimeoutMs`, within the hourly and daily character budgets, retried by the one retry policy
 * honouring `Retry-After`. A failure is counted and logged; the content stays unclassified and detection goes
 * on. At most once: a verdict in flight when the process stops is lost, never an event.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isMcpwatchError, McpwatchError } from '../../contracts/errors.ts';
import { partitionKeyOf, type ClassificationEvent, type McpEvent } from '../../contracts/mcp-event.ts';
import { parseMcpEvent } from '../../contracts/parse.ts';
import { retryPolicy } from '../../transport/retry.ts';
import type { Consumer, OutgoingRecord, Producer, Transport } from '../../transport/types.ts';
import type { ClassifierBackendClient, Verdict } from './backend.ts';
import type { ClassifierConfig } from './config.ts';
import { piecesOf, type ContentPiece } from './content.ts';
import { CharacterBudget, LruMap, RequestRate } from './limits.ts';
import { OpenAiJudgeBackend } from './openai-judge.ts';
import { PromptShieldsBackend } from './prompt-shields.ts';

export interface ClassifierStageOptions {
  transport: Transport;
  config: ClassifierConfig;
  /** The stage's consumer group. */
  groupId: string;
  eventsTopic: string;
  registry: Registry;
  logger: Logger;
  /** Where key variables are read; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** The backend, when already built from the config (the runtime builds it first, so a missing key fails before anything starts). */
  backend?: ClassifierBackendClient;
}

export type DropReason = 'queue-full' | 'budget' | 'failed';

export interface ClassifierStats {
  /** Contents answered by a backend request. */
  classified: number;
  /** Contents answered from the cache without a request. */
  cached: number;
  /** Contents that joined the same content already queued or in flight. */
  coalesced: number;
  dropped: Record<DropReason, number>;
  /** Request attempts by how they ended. */
  attempts: { ok: number; retried: number; failed: number };
  charsSent: number;
  verdicts: { attack: number; clean: number };
  /** Classification events the log refused. */
  emitFailures: number;
  queued: number;
  inFlight: number;
}

export interface ClassifierStage {
  stats(): ClassifierStats;
  /** Stops consuming and abandons requests in flight. */
  close(): Promise<void>;
}

interface Occurrence {
  source: McpEvent;
  piece: ContentPiece;
}

interface Pending {
  piece: ContentPiece;
  occurrences: Occurrence[];
}

/** The backend a configuration names; throws `CONFIG_INVALID` when its key is missing. */
export function createClassifierBackend(config: ClassifierConfig, env?: NodeJS.ProcessEnv): ClassifierBackendClient {
  const dependencies = env === undefined ? {} : { env };
  return config.backend.type === 'prompt-shields'
    ? new PromptShieldsBackend(config.backend, dependencies)
    : new OpenAiJudgeBackend(config.backend, dependencies);
}

/** Deterministic per source event, backend and piece, so a repeated verdict is recognisably the same event. */
function classificationEventId(backend: string, occurrence: Occurrence): string {
  const material = JSON.stringify([
    backend,
    occurrence.source.eventId,
    occurrence.piece.subject,
    occurrence.piece.tool ?? null,
    occurrence.piece.contentHash,
  ]);
  return `classification-${createHash('sha256').update(material).digest('hex').slice(0, 32)}`;
}

export function classificationEventOf(
  backend: ClassifierBackendClient['name'],
  occurrence: Occurrence,
  verdict: Verdict,
  cached: boolean,
  classifiedAt: Date,
): ClassificationEvent {
  const { source, piece } = occurrence;
  return {
    schemaVersion: source.schemaVersion,
    eventId: classificationEventId(backend, occurrence),
    time: source.time,
    server: source.server,
    ...(source.sessionId === undefined ? {} : { sessionId: source.sessionId }),
    ...(source.principal === undefined ? {} : { principal: source.principal }),
    ...(source.client === undefined ? {} : { client: source.client }),
    ...(source.transport === undefined ? {} : { transport: source.transport }),
    ...(source.traceId === undefined ? {} : { traceId: source.traceId }),
    ...(source.spanId === undefined ? {} : { spanId: source.spanId }),
    kind: 'classification',
    backend,
    subject: piece.subject,
    sourceEventId: source.eventId,
    ...(piece.tool === undefined ? {} : { tool: piece.tool }),
    contentHash: piece.contentHash,
    attackDetected: verdict.attackDetected,
    ...(verdict.confidence === undefined ? {} : { confidence: verdict.confidence }),
    ...(verdict.category === undefined ? {} : { category: verdict.category }),
    ...(verdict.rationale === undefined ? {} : { rationale: verdict.rationale }),
    ...(verdict.model === undefined ? {} : { model: verdict.model }),
    contentChars: piece.contentChars,
    ...(piece.truncated ? { truncated: true } : {}),
    ...(cached ? { cached: true } : {}),
    classifiedAt: classifiedAt.toISOString(),
  };
}

class ClassifierMetrics {
  readonly contents: Counter<'outcome'>;
  readonly dropped: Counter<'reason'>;
  readonly attempts: Counter<'result'>;
  readonly charsSent: Counter;
  readonly verdicts: Counter<'attack'>;
  readonly emitFailures: Counter;
  readonly queued: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.contents = new Counter({
      name: 'mcpwatch_classifier_contents_total',
      help: 'Contents given a verdict, by how: classified by a request, from the cache, or joined to a request already made.',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.dropped = new Counter({
      name: 'mcpwatch_classifier_dropped_total',
      help: 'Contents left unclassified, by reason: the queue was full, the character budget was spent, or the backend failed.',
      labelNames: ['reason'] as const,
      registers,
    });
    this.attempts = new Counter({
      name: 'mcpwatch_classifier_attempts_total',
      help: 'Requests to the classifier backend, by result: ok, failed and retried, failed for good.',
      labelNames: ['result'] as const,
      registers,
    });
    this.charsSent = new Counter({
      name: 'mcpwatch_classifier_chars_sent_total',
      help: 'Characters of content sent to the classifier backend (what text-billed backends charge for).',
      registers,
    });
    this.verdicts = new Counter({
      name: 'mcpwatch_classifier_verdicts_total',
      help: 'Verdicts written to the events log, by whether they report an attack.',
      labelNames: ['attack'] as const,
      registers,
    });
    this.emitFailures = new Counter({
      name: 'mcpwatch_classifier_emit_failures_total',
      help: 'Classification events the log refused (the verdicts are lost; detection goes on).',
      registers,
    });
    this.queued = new Gauge({
      name: 'mcpwatch_classifier_queued',
      help: 'Distinct contents waiting for a request.',
      registers,
    });
  }
}

export async function startClassifierStage(options: ClassifierStageOptions): Promise<ClassifierStage> {
  const { config, logger: log } = options;
  const limits = config.limits;
  const backend = options.backend ?? createClassifierBackend(config, options.env);
  const metrics = new ClassifierMetrics(options.registry);
  const stats: ClassifierStats = {
    classified: 0,
    cached: 0,
    coalesced: 0,
    dropped: { 'queue-full': 0, budget: 0, failed: 0 },
    attempts: { ok: 0, retried: 0, failed: 0 },
    charsSent: 0,
    verdicts: { attack: 0, clean: 0 },
    emitFailures: 0,
    queued: 0,
    inFlight: 0,
  };
  const cache = new LruMap<string, Verdict>(limits.cacheEntries);
  /** `server\0definition key` of definitions already classified: every session lists the same catalog. */
  const seenDefinitions = new LruMap<string, true>(limits.cacheEntries);
  const waiting = new Map<string, Pending>();
  const queue: Pending[] = [];
  const rate = new RequestRate(limits.requestsPerMinute);
  const budget = new CharacterBudget(limits.charsPerHour, limits.charsPerDay);
  const closing = new AbortController();

  const policy = retryPolicy({ attempts: limits.attempts, baseDelayMs: 500, maxDelayMs: 30_000 });
  policy.onRetry(({ error, delayMs, attempt }) => {
    stats.attempts.retried += 1;
    metrics.attempts.inc({ result: 'retried' });
    log.info(
      { err: error, backend: backend.name, attempt, delayMs },
      'Classifier request failed; retried after the wait.',
    );
  });

  const producer: Producer = await options.transport.producer();
  const consumer: Consumer = await options.transport.consumer({
    groupId: options.groupId,
    topics: [options.eventsTopic],
    from: config.from,
  });

  /** `server\0definition key` of a definition occurrence, which is classified once per server. */
  const definitionOf = ({ source, piece }: Occurrence): string | undefined =>
    piece.definitionKey === undefined ? undefined : `${source.server.name}\u0000${piece.definitionKey}`;

  function drop(pendings: readonly Pending[], reason: DropReason): void {
    for (const pending of pendings) {
      waiting.delete(pending.piece.contentHash);
      // Not classified: the next listing of these definitions asks again.
      for (const occurrence of pending.occurrences) {
        const definition = definitionOf(occurrence);
        if (definition !== undefined) seenDefinitions.delete(definition);
      }
      stats.dropped[reason] += pending.occurrences.length;
      metrics.dropped.inc({ reason }, pending.occurrences.length);
    }
  }

  async function emit(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0 || closing.signal.aborted) return;
    try {
      await producer.send(options.eventsTopic, records);
    } catch (error) {
      stats.emitFailures += records.length;
      metrics.emitFailures.inc(records.length);
      log.error({ err: error, verdicts: records.length }, 'Events log refused classification events; verdicts lost.');
    }
  }

  function recordOf(occurrence: Occurrence, verdict: Verdict, cached: boolean): OutgoingRecord {
    const event = classificationEventOf(backend.name, occurrence, verdict, cached, new Date());
    stats.verdicts[verdict.attackDetected ? 'attack' : 'clean'] += 1;
    metrics.verdicts.inc({ attack: String(verdict.attackDetected) });
    return { key: partitionKeyOf(event), value: JSON.stringify(event) };
  }

  /** Waits for a request slot in the rolling minute; false when closing. */
  async function rateSlot(): Promise<boolean> {
    for (;;) {
      if (closing.signal.aborted) return false;
      const wait = rate.take(Date.now());
      if (wait === 0) return true;
      await sleep(wait, undefined, { signal: closing.signal }).catch(() => undefined);
    }
  }

  async function request(batch: readonly Pending[]): Promise<void> {
    const inputs = batch.map(({ piece }) => ({ subject: piece.subject, text: piece.text }));
    const chars = inputs.reduce((sum, input) => sum + input.text.length, 0);
    let verdicts: Verdict[];
    try {
      verdicts = await policy.execute(async () => {
        if (!(await rateSlot())) throw new McpwatchError('CLOSED', 'The classifier stage is closed');
        if (!budget.spend(chars, Date.now())) {
          throw new McpwatchError('LIMIT_EXCEEDED', 'The classifier character budget is spent');
        }
        stats.charsSent += chars;
        metrics.charsSent.inc(chars);
        const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(limits.requestTimeoutMs)]);
        const answer = await backend.classify(inputs, signal);
        stats.attempts.ok += 1;
        metrics.attempts.inc({ result: 'ok' });
        return answer;
      }, closing.signal);
    } catch (error) {
      if (closing.signal.aborted) return;
      if (isMcpwatchError(error, 'LIMIT_EXCEEDED')) {
        drop(batch, 'budget');
        log.warn(
          { backend: backend.name, contents: batch.length, chars },
          'Classifier budget spent; content not classified.',
        );
        return;
      }
      stats.attempts.failed += 1;
      metrics.attempts.inc({ result: 'failed' });
      drop(batch, 'failed');
      log.warn(
        { err: error, backend: backend.name, contents: batch.length },
        'Classification failed; content not classified, detection goes on.',
      );
      return;
    }
    const records: OutgoingRecord[] = [];
    for (const [index, pending] of batch.entries()) {
      const verdict = verdicts[index]!;
      cache.set(pending.piece.contentHash, verdict);
      waiting.delete(pending.piece.contentHash);
      stats.classified += 1;
      metrics.contents.inc({ outcome: 'classified' });
      // A clean verdict is written once per content answered; an attack for every occurrence (each its own alert).
      for (const [number, occurrence] of pending.occurrences.entries()) {
        if (number === 0 || verdict.attackDetected) records.push(recordOf(occurrence, verdict, false));
      }
    }
    await emit(records);
  }

  /** The next request's contents: the queue's head, as many as one request takes. */
  function nextBatch(): Pending[] {
    const batch: Pending[] = [];
    let chars = 0;
    while (queue.length > 0 && batch.length < backend.maxBatchItems) {
      const size = queue[0]!.piece.text.length;
      if (batch.length > 0 && chars + size > backend.maxBatchChars) break;
      batch.push(queue.shift()!);
      chars += size;
    }
    return batch;
  }

  function pump(): void {
    while (!closing.signal.aborted && stats.inFlight < limits.maxConcurrent && queue.length > 0) {
      const batch = nextBatch();
      stats.inFlight += 1;
      request(batch)
        .catch((error: unknown) => log.error({ err: error }, 'Classifier request handling failed.'))
        .finally(() => {
          stats.inFlight -= 1;
          pump();
        });
    }
    stats.queued = queue.length;
    metrics.queued.set(queue.length);
  }

  function accept(occurrence: Occurrence, cachedRecords: OutgoingRecord[]): void {
    const definition = definitionOf(occurrence);
    if (definition !== undefined) {
      if (seenDefinitions.has(definition)) return;
      seenDefinitions.set(definition, true);
    }
    const hash = occurrence.piece.contentHash;
    const known = cache.get(hash);
    if (known !== undefined) {
      stats.cached += 1;
      metrics.contents.inc({ outcome: 'cached' });
      if (known.attackDetected) cachedRecords.push(recordOf(occurrence, known, true));
      return;
    }
    const pending = waiting.get(hash);
    if (pending !== undefined) {
      stats.coalesced += 1;
      metrics.contents.inc({ outcome: 'coalesced' });
      pending.occurrences.push(occurrence);
      return;
    }
    if (queue.length >= limits.queueSize) {
      if (definition !== undefined) seenDefinitions.delete(definition);
      stats.dropped['queue-full'] += 1;
      metrics.dropped.inc({ reason: 'queue-full' });
      return;
    }
    const fresh: Pending = { piece: occurrence.piece, occurrences: [occurrence] };
    waiting.set(hash, fresh);
    queue.push(fresh);
  }

  const running = consumer.run({
    onBatch: async ({ topic, partition, records }) => {
      const cachedRecords: OutgoingRecord[] = [];
      for (const record of records) {
        let value: unknown;
        try {
          value = JSON.parse(record.value.toString('utf8')) as unknown;
        } catch {
          continue; // the detectors dead-letter what is not an event
        }
        const parsed = parseMcpEvent(value);
        if (!parsed.ok || parsed.value.kind === 'classification') continue;
        const event = parsed.value;
        for (const piece of piecesOf(event, config.subjects, limits.maxContentChars)) {
          accept({ source: event, piece }, cachedRecords);
        }
      }
      pump();
      await emit(cachedRecords);
      await consumer.commit([{ topic, partition, offset: String(BigInt(records.at(-1)!.offset) + 1n) }]);
    },
  });
  running.catch((error: unknown) => log.error({ err: error }, 'Classifier stage stopped: consumer failed.'));

  let closed: Promise<void> | undefined;
  return {
    stats: () => ({
      ...stats,
      dropped: { ...stats.dropped },
      attempts: { ...stats.attempts },
      verdicts: { ...stats.verdicts },
    }),
    close() {
      closed ??= (async () => {
        closing.abort();
        await consumer.close();
        await running.catch(() => undefined);
        await producer.close();
      })();
      return closed;
    },
  };
}
