import type { ClientIdentity, McpRequestHeaders } from '../contracts/mcp-event.ts';
import { sanitizeResourceUri } from '../contracts/resource-uri.ts';
import { headerOf, str } from './connection.ts';
import type { Headers } from './types.ts';

/** `_meta` keys of the 2026-07-28 per-request envelope (basic/index `_meta`). */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

const MAX_CAPABILITIES = 32;

/** What one request says about its sender, from 2026-07-28 on: there is no handshake to remember it from. */
export interface RequestEnvelope {
  protocolVersion?: string;
  client?: ClientIdentity;
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** Capability names of a `ClientCapabilities` object, sorted and bounded (the values are not kept). */
export function capabilityNames(capabilities: unknown): string[] | undefined {
  const caps = record(capabilities);
  if (caps === undefined) return undefined;
  const names: string[] = [];
  for (const key in caps) {
    if (names.length >= MAX_CAPABILITIES) break;
    names.push(key.slice(0, 64));
  }
  return names.sort();
}

/** A `clientInfo` object as the contract carries it. */
export function clientIdentityOf(info: unknown, capabilities: unknown): ClientIdentity | undefined {
  const client: ClientIdentity = {};
  const fields = record(info);
  const name = str(fields?.['name']);
  const version = str(fields?.['version']);
  if (name !== undefined) client.name = name.slice(0, 256);
  if (version !== undefined) client.version = version.slice(0, 128);
  const names = capabilityNames(capabilities);
  if (names !== undefined) client.capabilities = names;
  return Object.keys(client).length === 0 ? undefined : client;
}

/** The per-request envelope in `params._meta`, or undefined for a request of an earlier protocol version. */
export function requestEnvelopeOf(params: Record<string, unknown>): RequestEnvelope | undefined {
  const meta = record(params['_meta']);
  if (meta === undefined) return undefined;
  const protocolVersion = str(meta[META_PROTOCOL_VERSION])?.slice(0, 64);
  const hasClient = META_CLIENT_INFO in meta || META_CLIENT_CAPABILITIES in meta;
  if (protocolVersion === undefined && !hasClient) return undefined;
  const client = clientIdentityOf(meta[META_CLIENT_INFO], meta[META_CLIENT_CAPABILITIES]);
  return {
    ...(protocolVersion === undefined ? {} : { protocolVersion }),
    ...(client === undefined ? {} : { client }),
  };
}

const BASE64_SENTINEL = /^=\?base64\?([A-Za-z0-9+/=]{0,8192})\?=$/;

/** A header value in the spec's Base64 sentinel form (`=?base64?…?=`) decoded; others as sent. */
export function decodeHeaderValue(value: string): string {
  const match = BASE64_SENTINEL.exec(value);
  return match?.[1] === undefined ? value : Buffer.from(match[1], 'base64').toString('utf8');
}

/** The body value `Mcp-Name` mirrors: `params.name` (tools, prompts) or `params.uri` (resources). */
function bodyName(params: Record<string, unknown>): string | undefined {
  return str(params['name']) ?? str(params['uri']);
}

/**
 * The Streamable HTTP request metadata headers (`Mcp-Method`, `Mcp-Name`, `MCP-Protocol-Version`) next to the
 * body they must mirror (transports/streamable-http "Server Validation"): which of them disagree. Undefined
 * when the request carried none of them.
 */
export function mcpHeadersOf(
  headers: Headers | undefined,
  method: string,
  params: Record<string, unknown>,
  bodyProtocolVersion: string | undefined,
): McpRequestHeaders | undefined {
  const headerMethod = headerOf(headers, 'mcp-method');
  const rawName = headerOf(headers, 'mcp-name');
  const headerVersion = headerOf(headers, 'mcp-protocol-version');
  // Before 2026-07-28 only the version header existed: alone, it says nothing about the body's method.
  if (headerMethod === undefined && rawName === undefined) return undefined;
  const mismatch: ('method' | 'name' | 'protocolVersion')[] = [];
  const name = rawName === undefined ? undefined : decodeHeaderValue(rawName);
  if (headerMethod !== method) mismatch.push('method');
  const expectedName = bodyName(params);
  if (name !== expectedName && (name !== undefined || requiresName(method))) mismatch.push('name');
  if (headerVersion !== undefined && bodyProtocolVersion !== undefined && headerVersion !== bodyProtocolVersion)
    mismatch.push('protocolVersion');
  const shownName =
    name === undefined ? undefined : method.startsWith('resources/') ? sanitizeResourceUri(name) : name.slice(0, 2048);
  return {
    ...(headerMethod === undefined ? {} : { method: headerMethod.slice(0, 256) }),
    ...(shownName === undefined ? {} : { name: shownName }),
    ...(headerVersion === undefined ? {} : { protocolVersion: headerVersion.slice(0, 64) }),
    ...(mismatch.length === 0 ? {} : { mismatch }),
  };
}

/** Methods whose POST must carry `Mcp-Name`. */
function requiresName(method: string): boolean {
  return method === 'tools/call' || method === 'resources/read' || method === 'prompts/get';
}
