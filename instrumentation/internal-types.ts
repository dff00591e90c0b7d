/** The SDK's `MessageExtraInfo` as far as we read it (absent in older SDKs). */
export interface MessageExtra {
  authInfo?: unknown;
  requestInfo?: { headers?: Record<string, string | string[] | undefined> };
  /** SDK 2.x: the web `Request` that carried the message. */
  request?: { headers?: unknown };
}

/** The SDK `Server` (low level) as far as we touch it. */
export interface ServerLike {
  connect: (this: ServerLike, transport: TransportLike) => Promise<void>;
  transport?: TransportLike;
  _serverInfo?: { name?: unknown; version?: unknown };
  _instructions?: unknown;
  _requestHandlers?: Map<string, (request: unknown, extra: unknown) => unknown>;
}

/** The SDK `Transport` as far as we touch it. */
export interface TransportLike {
  sessionId?: string;
  onmessage?: ((message: unknown, extra?: unknown) => void) | undefined;
  onclose?: (() => void) | undefined;
  send: (this: TransportLike, message: unknown, options?: unknown) => Promise<void>;
  handleRequest?: (this: TransportLike, ...args: unknown[]) => Promise<unknown>;
}
