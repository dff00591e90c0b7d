/** What `mcpwatch proxy` runs: option checks, the telemetry pipeline, then the stdio relay or the HTTP proxy. */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import { z } from 'zod';
import { McpwatchError } from '../contracts/errors.ts';
import { describeIssues, issuesOf } from '../contracts/parse.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import type { TelemetryPipeline } from '../observer/export/pipeline.ts';
import { globalTelemetry } from '../observer/telemetry.ts';
import { approvePending, enforcementEvent, ToolGate } from './enforcement.ts';
import { startHttpProxy } from './http-proxy.ts';
import { createBearerVerifier, serverNameFromCommand, serverNameFromUrl } from './identity.ts';
import type { BearerVerifier } from './identity.ts';
import { PinStore } from './pin-store.ts';
import { runStdioProxy } from './stdio-relay.ts';

/** The options of `mcpwatch proxy`, validated once; the error names the option. */
export const ProxyOptions = z.strictObject({
  /** The server's command and arguments (stdio mode). */
  command: z.array(z.string()).default([]),
  /** The Streamable HTTP endpoint to reverse-proxy (HTTP mode). */
  upstream: z.url({ protocol: /^https?$/ }).optional(),
  /** `host:port` the HTTP proxy listens on. */
  listen: z.string().default('127.0.0.1:4330'),
  /** The server's name for events and its pin file; derived from the command or URL when absent. */
  name: z.string().min(1).max(256).optional(),
  /** Token clients must present as `Proxy-Authorization: Bearer <token>`; required beyond loopback. */
  authToken: z.string().min(16, 'expected at least 16 characters').optional(),
  /** `Host` header values accepted besides the listen address (behind a name or port mapping). */
  allowedHost: z.array(z.string()).default([]),
  /** `Origin` values accepted besides loopback origins. */
  allowedOrigin: z.array(z.string()).default([]),
  /** Verify relayed bearer tokens against this issuer (else their claims are recorded as unverified). */
  issuer: z.string().optional(),
  /** JWKS URL of the issuer. */
  jwksUri: z.url().optional(),
  /** JWKS file of the issuer. */
  jwksFile: z.string().optional(),
  /** Expected token audience when verifying. */
  audience: z.string().optional(),
  /** Pin tool definitions and withhold drifted or flagged tools until approved. */
  enforce: z.boolean().default(false),
  /** The pin file (default: one per server under ~/.mcpwatch/pins or MCPWATCH_PIN_DIR). */
  pins: z.string().optional(),
  /** When the pin store cannot be read: serve every tool (`open`) or withhold every tool (`closed`). */
  pinStoreUnreadable: z.enum(['open', 'closed']).default('closed'),
  /** Largest message handed to the observer, in bytes; larger ones are relayed, counted, not observed. */
  maxObservedBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
});
export type ProxyOptions = z.infer<typeof ProxyOptions>;

export function parseProxyOptions(input: Record<string, unknown>): ProxyOptions {
  const result = ProxyOptions.safeParse(input);
  if (!result.success) throw new McpwatchError('CONFIG_INVALID', `proxy: ${describeIssues(issuesOf(result.error))}`);
  const options = result.data;
  if (options.upstream !== undefined && options.command.length > 0)
    throw new McpwatchError('CONFIG_INVALID', 'proxy: give either --upstream <url> or -- <command...>, not both');
  if (options.upstream === undefined && options.command.length === 0)
    throw new McpwatchError(
      'CONFIG_INVALID',
      'proxy: expected --upstream <url> or -- <command...> (the server to run)',
    );
  if (options.issuer !== undefined && (options.jwksUri === undefined) === (options.jwksFile === undefined))
    throw new McpwatchError('CONFIG_INVALID', 'proxy: --issuer needs exactly one of --jwks-uri or --jwks-file');
  if (options.issuer === undefined && (options.jwksUri !== undefined || options.jwksFile !== undefined))
    throw new McpwatchError('CONFIG_INVALID', 'proxy: --jwks-uri/--jwks-file need --issuer');
  return options;
}

/** `host:port` or `[v6]:port`. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535)
    throw new McpwatchError('CONFIG_INVALID', `proxy: --listen: expected host:port, got ${JSON.stringify(value)}`);
  return { host: (match[1] ?? match[2])!, port };
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** How long flushing telemetry may hold the exit of the proxy. */
const FLUSH_TIMEOUT_MS = 3000;

async function flush(pipeline: TelemetryPipeline): Promise<void> {
  await Promise.race([pipeline.shutdown(), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
}

function gateFor(
  options: ProxyOptions,
  name: string,
  transport: 'stdio' | 'streamable-http',
  logger: Logger,
): ToolGate | undefined {
  if (!options.enforce) return undefined;
  return new ToolGate({
    store: PinStore.forServer(name, options.pins),
    onUnreadable: options.pinStoreUnreadable,
    telemetry: globalTelemetry(),
    server: { name },
    transport,
    logger,
  });
}

/** Stdio mode: resolves with the exit the proxy should make (the child's code, or its signal re-raised). */
export async function runStdio(
  options: ProxyOptions,
  logger: Logger,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const [command, ...args] = options.command as [string, ...string[]];
  const name = options.name ?? serverNameFromCommand(command, args);
  // Our listeners first: the pipeline then leaves SIGINT/SIGTERM to us, and we pass them to the server.
  const hold = (): void => undefined;
  process.on('SIGINT', hold).on('SIGTERM', hold);
  const pipeline = startTelemetryPipeline();
  try {
    const exit = await runStdioProxy({
      command,
      args,
      name,
      nameFixed: options.name !== undefined,
      telemetry: globalTelemetry(),
      logger,
      maxObservedBytes: options.maxObservedBytes,
      ...withGate(gateFor(options, name, 'stdio', logger)),
    });
    logger.debug({ ...exit.counters, code: exit.code, signal: exit.signal }, 'Server exited.');
    return { code: exit.code, signal: exit.signal };
  } finally {
    process.off('SIGINT', hold).off('SIGTERM', hold);
    await flush(pipeline);
  }
}

const withGate = (gate: ToolGate | undefined): { gate?: ToolGate } => (gate === undefined ? {} : { gate });

/** HTTP mode: runs until `stopped` resolves. */
export async function runHttp(options: ProxyOptions, logger: Logger, stopped: Promise<void>): Promise<void> {
  const upstream = new URL(options.upstream!);
  const listen = parseListen(options.listen);
  if (!isLoopback(listen.host) && options.authToken === undefined)
    throw new McpwatchError(
      'CONFIG_INVALID',
      `proxy: --listen ${options.listen} is beyond loopback: it needs --auth-token (or MCPWATCH_PROXY_AUTH_TOKEN)`,
    );
  const name = options.name ?? serverNameFromUrl(upstream);
  let verifier: BearerVerifier | undefined;
  if (options.issuer !== undefined) {
    const jwks =
      options.jwksFile === undefined
        ? undefined
        : (JSON.parse(await readFile(options.jwksFile, 'utf8')) as JSONWebKeySet);
    verifier = createBearerVerifier({
      issuer: options.issuer,
      ...(options.jwksUri === undefined ? {} : { jwksUri: new URL(options.jwksUri) }),
      ...(jwks === undefined ? {} : { jwks }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
  }
  const pipeline = startTelemetryPipeline();
  const proxy = await startHttpProxy({
    upstream,
    host: listen.host,
    port: listen.port,
    name,
    nameFixed: options.name !== undefined,
    telemetry: globalTelemetry(),
    logger,
    maxObservedBytes: options.maxObservedBytes,
    allowedHosts: options.allowedHost,
    allowedOrigins: options.allowedOrigin,
    ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
    ...(verifier === undefined ? {} : { verifier }),
    ...withGate(gateFor(options, name, 'streamable-http', logger)),
  });
  process.stderr.write(`mcpwatch proxy: ${upstream.href} as ${name} on ${proxy.url}\n`);
  // A line on stdout too, for whoever started the proxy to read the (possibly ephemeral) port.
  process.stdout.write(JSON.stringify({ url: proxy.url }) + '\n');
  try {
    await stopped;
  } finally {
    await proxy.close();
    logger.debug({ ...proxy.counters }, 'Proxy stopped.');
    await flush(pipeline);
  }
}

/** `mcpwatch proxy approve <server> [tool]`: pending definitions become pins, each approval an audit event. */
export async function approve(server: string, tool: string | undefined, pinsPath: string | undefined): Promise<string> {
  const store = PinStore.forServer(server, pinsPath);
  const pins = await store.read();
  const approved = approvePending(pins, tool);
  if (approved.length === 0) {
    const what = tool === undefined ? 'no tool' : `tool ${JSON.stringify(tool)}`;
    throw new McpwatchError(
      'INPUT_INVALID',
      `nothing to approve: ${what} of server ${JSON.stringify(server)} is withheld (pin file ${store.path})`,
    );
  }
  await store.write(pins);
  const pipeline = startTelemetryPipeline();
  const telemetry = globalTelemetry();
  for (const entry of approved)
    telemetry.emit(
      enforcementEvent(undefined, 'approved', 'user-approval', entry.tool, undefined, entry.hash, entry.previous),
      { name: server },
    );
  await flush(pipeline);
  return approved.map((entry) => `approved ${entry.tool} at ${entry.hash}`).join('\n');
}
