import type { ConnectionObserver } from '../observer/connection-observer.ts';
import type { InboundContext } from '../observer/types.ts';
import { guard } from '../observer/telemetry.ts';
import type { Telemetry } from '../observer/telemetry.ts';
import { jsonRpcMessages } from './framing.ts';

/** What the relay counted; logged when it stops. */
export interface RelayCounters {
  /** Messages handed to the observer, per direction. */
  inbound: number;
  outbound: number;
  /** Lines or bodies that were not JSON-RPC: relayed unchanged, not observed. */
  malformed: number;
  /** Messages larger than the observation bound: relayed unchanged, not observed. */
  oversize: number;
}

export const newCounters = (): RelayCounters => ({ inbound: 0, outbound: 0, malformed: 0, oversize: 0 });

/** Feeds one copied message text (a line, a body or an SSE event's data) to the observer; never throws. */
export function observeText(
  observer: ConnectionObserver,
  telemetry: Telemetry,
  counters: RelayCounters,
  direction: 'inbound' | 'outbound',
  text: string,
  inbound: InboundContext = {},
): Record<string, unknown>[] | undefined {
  return guard('relay observation', () => {
    const messages = jsonRpcMessages(text);
    observeParsed(observer, telemetry, counters, direction, messages, inbound);
    return messages;
  });
}

/** The same for a text already cut into messages (`undefined`: it was not JSON-RPC); never throws. */
export function observeMessages(
  observer: ConnectionObserver,
  telemetry: Telemetry,
  counters: RelayCounters,
  direction: 'inbound' | 'outbound',
  messages: Record<string, unknown>[] | undefined,
  inbound: InboundContext = {},
): void {
  guard('relay observation', () => observeParsed(observer, telemetry, counters, direction, messages, inbound));
}

function observeParsed(
  observer: ConnectionObserver,
  telemetry: Telemetry,
  counters: RelayCounters,
  direction: 'inbound' | 'outbound',
  messages: Record<string, unknown>[] | undefined,
  inbound: InboundContext,
): void {
  if (messages === undefined) {
    counters.malformed++;
    telemetry.untracked.add(1, { reason: 'malformed-json-rpc', direction });
    return;
  }
  for (const message of messages) {
    counters[direction]++;
    if (direction === 'inbound') observer.onInbound(message, inbound);
    else observer.onOutbound(message);
  }
}

export function countOversize(telemetry: Telemetry, counters: RelayCounters, direction: string): void {
  guard('relay observation', () => {
    counters.oversize++;
    telemetry.untracked.add(1, { reason: 'observation-bound', direction });
  });
}
