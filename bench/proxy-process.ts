/**
 * The gateway of the proxy bench, in its own process as `mcpwatch proxy` runs, so that its CPU is the proxy's
 * alone: `stdio <command...>` relays this process's stdin/stdout to the server it starts (the CLI's code path),
 * `http <upstream url>` reverse-proxies the upstream and sends its URL over IPC. Both export to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` through the CLI's pipeline. The baselines `stdio-bare` and `http-bare` relay
 * the same traffic with Node's streams piped and nothing else: what the plainest relay in Node costs on the
 * machine. On `flush` over IPC it exports what is buffered and replies with its CPU time so far (µs), so that
 * every measured block pays for its own export.
 *
 *   node --import tsx bench/proxy-process.ts <stdio <command...> | http <url>>   (forked by proxy.bench.ts)
 */
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { globalTelemetry } from '../observer/telemetry.ts';
import { startHttpProxy } from '../proxy/http-proxy.ts';
import { runStdioProxy } from '../proxy/stdio-relay.ts';

const [mode, ...rest] = process.argv.slice(2);
const logger = pino({ level: 'silent' });
const pipeline = startTelemetryPipeline();
const MAX_OBSERVED_BYTES = 4 * 1024 * 1024;

process.on('message', (message: { type: string }) => {
  if (message.type === 'flush')
    void pipeline.forceFlush().then(() => {
      const used = process.cpuUsage();
      process.send?.({ cpuMicros: used.user + used.system });
    });
});

if (mode === 'stdio') {
  const [command, ...args] = rest as [string, ...string[]];
  const exit = await runStdioProxy({
    command,
    args,
    name: 'bench-stdio-proxied',
    telemetry: globalTelemetry(),
    logger,
    maxObservedBytes: MAX_OBSERVED_BYTES,
  });
  await pipeline.shutdown();
  process.exit(exit.code ?? 1);
} else if (mode === 'http') {
  const proxy = await startHttpProxy({
    upstream: new URL(rest[0]!),
    host: '127.0.0.1',
    port: 0,
    name: 'bench-http-proxied',
    telemetry: globalTelemetry(),
    logger,
    maxObservedBytes: MAX_OBSERVED_BYTES,
  });
  process.send?.({ url: proxy.url });
  process.once('disconnect', () => void proxy.close().then(() => pipeline.shutdown()));
} else if (mode === 'stdio-bare') {
  const [command, ...args] = rest as [string, ...string[]];
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  process.stdin.pipe(child.stdin);
  child.stdout.pipe(process.stdout);
  child.once('close', (code) => process.exit(code ?? 1));
} else if (mode === 'http-bare') {
  const upstream = new URL(rest[0]!);
  const server = createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host };
    delete headers.connection;
    const outgoing = request(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.flushHeaders();
        upstreamRes.pipe(res);
      },
    );
    req.pipe(outgoing);
  });
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}` }),
  );
  process.once('disconnect', () => server.close());
} else throw new Error(`unknown mode ${String(mode)}: expected stdio, http, stdio-bare or http-bare`);
