/** kafkajs errors as mcpwatch errors, and kafkajs's own log lines as pino lines. */
import { logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { McpwatchError, isMcpwatchError } from '../../contracts/errors.ts';

interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
}

function kafkaErrorOf(error: unknown): KafkaJsErrorLike {
  return typeof error === 'object' && error !== null ? error : {};
}

export function isRebalancing(error: unknown): boolean {
  const type = kafkaErrorOf(error).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/**
 * Whether a transactional producer was fenced: another one initialized its transactional id, bumping the epoch.
 * Brokers answer kafkajs's request versions with INVALID_PRODUCER_EPOCH (PRODUCER_FENCED is for newer ones);
 * kafkajs may wrap the broker's error.
 */
export function isFenced(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 4; depth++) {
    const { type, cause } = kafkaErrorOf(current);
    if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED') return true;
    current = cause;
  }
  return false;
}

export function transportError(action: string, error: unknown): McpwatchError {
  if (isMcpwatchError(error)) return error;
  const { type, message, retriable } = kafkaErrorOf(error);
  const detail = type === undefined ? (message ?? String(error)) : `${type}: ${message ?? ''}`;
  return new McpwatchError('TRANSPORT_FAILED', `Kafka ${action} failed: ${detail}`, {
    cause: error,
    retriable: retriable === true,
  });
}

/**
 * kafkajs lines that are not news at warn: `Connection` logs every error response at error level, including
 * the rebalance, leader-change and coordinator-loading answers kafkajs handles itself (what it cannot handle
 * reaches mcpwatch as a thrown error); and the idempotent producer warns that bounded retries weaken its
 * exactly-once claim, which mcpwatch does not make (sends are at least once; retries are bounded on purpose
 * so that a dead broker surfaces as an error).
 */
function isRoutine(namespace: string, message: string): boolean {
  return (
    (namespace === 'Connection' && message.startsWith('Response ')) ||
    (namespace === 'Producer' && message.startsWith('Limiting retries for the idempotent producer'))
  );
}

export function kafkaLogLine(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...detail } = log;
      if (isRoutine(namespace, message)) return;
      const line = { kafkajs: { namespace, ...detail } };
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(line, message);
      else logger.warn(line, message);
    };
}
