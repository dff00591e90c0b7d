#!/usr/bin/env node
/**
 * The `mcpwatch` command. Each subcommand loads its implementation only when it runs, so `--help` is quick
 * and `serve` never loads Kafka or Azure code.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { isMcpwatchError } from '../contracts/errors.ts';

const program = new Command('mcpwatch')
  .description('Security telemetry and SIEM pipeline for Model Context Protocol servers.')
  .version(packageVersion())
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true })
  .addOption(
    new Option('--log-level <level>', 'structured log level')
      .choices(['debug', 'info', 'warn', 'error'])
      .default('info'),
  );

/** This package's version, read through its own name (npm_package_version is whichever package runs npm). */
function packageVersion(): string {
  const manifest = createRequire(import.meta.url)('mcpwatch/package.json') as { version: string };
  return manifest.version;
}

/** Structured logs on stderr; `quietByDefault` keeps a terminal view clean unless --log-level is given. */
function logger(quietByDefault = false): Logger {
  const { logLevel } = program.opts<{ logLevel: string }>();
  const level = quietByDefault && program.getOptionValueSource('logLevel') === 'default' ? 'warn' : logLevel;
  return pino({ name: 'mcpwatch', level }, pino.destination(2));
}

function port(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 65_535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return parsed;
}

function brokerList(value: string): string[] {
  const brokers = value.split(',').map((broker) => broker.trim());
  if (brokers.some((broker) => !/^[^\s:]+:\d{1,5}$/.test(broker))) {
    throw new InvalidArgumentError('expected host:port[,host:port...]');
  }
  return brokers;
}

const brokersOption = () =>
  new Option('--brokers <host:port,...>', 'Kafka bootstrap brokers')
    .env('KAFKA_BROKERS')
    .argParser(brokerList)
    .makeOptionMandatory();

/** Runs until SIGINT/SIGTERM, then closes what was started; a second signal exits at once. */
async function runUntilSignal(close: () => Promise<void>, log: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'Shutting down; flushing what was accepted.');
      process.once(signal, () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await close();
}

program
  .command('serve')
  .description('Run the whole pipeline in one process on the embedded transport: OTLP receiver, detectors, dashboard.')
  .addOption(new Option('--host <address>', 'address of the OTLP receiver and dashboard').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'OTLP/HTTP port').argParser(port).default(4318))
  .addOption(new Option('--dashboard-port <port>', 'local dashboard port').argParser(port).default(4320))
  .option('--no-dashboard', 'run without the local dashboard')
  .addOption(
    new Option('--dashboard-token-env <name>', 'environment variable holding a token the dashboard API requires'),
  )
  .option('--config <file>', 'detectors configuration (JSON or YAML); see `mcpwatch config schema`')
  .action(
    async (options: {
      host: string;
      port: number;
      dashboardPort: number;
      dashboard: boolean;
      dashboardTokenEnv?: string;
      config?: string;
    }) => {
      const log = logger();
      const { startServe } = await import('./serve.ts');
      const token = options.dashboardTokenEnv === undefined ? undefined : process.env[options.dashboardTokenEnv];
      if (options.dashboardTokenEnv !== undefined && !token) {
        throw new InvalidArgumentError(`--dashboard-token-env: ${options.dashboardTokenEnv} is not set`);
      }
      const serve = await startServe({
        host: options.host,
        port: options.port,
        dashboardPort: options.dashboard ? options.dashboardPort : false,
        ...(token === undefined ? {} : { dashboardToken: token }),
        ...(options.config === undefined ? {} : { configPath: options.config }),
        logger: log,
      });
      process.stderr.write(
        `mcpwatch serve: OTLP/HTTP on ${serve.otlpUrl}` +
          (serve.dashboardUrl === undefined ? '' : `, dashboard on ${serve.dashboardUrl}`) +
          '. Ctrl-C to stop.\n',
      );
      await runUntilSignal(() => serve.close(), log);
    },
  );

program
  .command('collector')
  .description('Receive OTLP/HTTP, normalize to MCP events and produce them to Kafka.')
  .addOption(brokersOption())
  .option('--config <file>', 'collector configuration (JSON or YAML); see `mcpwatch config schema collector`')
  .addOption(new Option('--host <address>', 'receiver address (overrides the file)'))
  .addOption(new Option('--port <port>', 'receiver port (overrides the file)').argParser(port))
  .option('--token-file <file>', 'accepted bearer tokens, one per line')
  .option('--token-env <name>', 'environment variable holding an accepted bearer token')
  .option(
    '--allow-unauthenticated',
    'allow a non-loopback address without bearer tokens (behind an authenticating proxy)',
  )
  .option('--tls-cert <file>', 'TLS certificate (PEM) of the receiver')
  .option('--tls-key <file>', 'TLS private key (PEM) of the receiver')
  .option('--tls-client-ca <file>', 'CA (PEM) that client certificates must chain to (mTLS)')
  .option('--kafka-source', 'also consume otlp_spans/otlp_logs as an OpenTelemetry Collector writes them (otlp_proto)')
  .action(async (options: CollectorCommandOptions) => {
    const log = logger();
    const [{ startCollector }, { parseCollectorConfig }, { createTransport }, { readConfigFile, mergeConfig }] =
      await Promise.all([
        import('../collector/collector.ts'),
        import('../collector/config.ts'),
        import('../transport/index.ts'),
        import('./config-source.ts'),
      ]);
    const fromFile = options.config === undefined ? {} : await readConfigFile(options.config);
    const transport = await createTransport({
      kind: 'kafka',
      kafka: { brokers: options.brokers, clientId: 'mcpwatch-collector' },
    });
    const config = parseCollectorConfig(mergeConfig(fromFile ?? {}, collectorFlags(options)));
    const collector = await startCollector(config, { transport, logger: log });
    process.stderr.write(
      `mcpwatch collector: OTLP/HTTP on ${collector.url}, producing to ${options.brokers.join(',')}\n`,
    );
    await runUntilSignal(async () => {
      await collector.close();
      await transport.close();
    }, log);
  });

interface CollectorCommandOptions {
  brokers: string[];
  config?: string;
  host?: string;
  port?: number;
  tokenFile?: string;
  tokenEnv?: string;
  allowUnauthenticated?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  kafkaSource?: boolean;
}

/** The collector configuration the flags ask for; merged over the file, then validated as one. */
function collectorFlags(options: CollectorCommandOptions): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (options.host !== undefined) flags.host = options.host;
  if (options.port !== undefined) flags.port = options.port;
  if (options.allowUnauthenticated === true) flags.allowUnauthenticated = true;
  if (options.kafkaSource === true) flags.kafkaSource = {};
  const auth = {
    ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
    ...(options.tokenEnv === undefined ? {} : { tokenEnv: options.tokenEnv }),
  };
  if (Object.keys(auth).length > 0) flags.auth = auth;
  if (options.tlsCert !== undefined || options.tlsKey !== undefined || options.tlsClientCa !== undefined) {
    flags.tls = {
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
      ...(options.tlsClientCa === undefined ? {} : { clientCaFile: options.tlsClientCa }),
    };
  }
  return flags;
}

program
  .command('detectors')
  .description('Run the detection rules as a Kafka consumer group; alerts go to the configured sinks.')
  .addOption(brokersOption())
  .option('--config <file>', 'detectors configuration (JSON or YAML); see `mcpwatch config schema`')
  .addOption(
    new Option('--from <position>', 'where a new consumer group starts reading events')
      .choices(['earliest', 'latest'])
      .default('earliest'),
  )
  .addOption(
    new Option(
      '--instance-id <id>',
      'this instance within its group, stable across restarts and unique among live instances (names its state transactions)',
    ).env('MCPWATCH_INSTANCE_ID'),
  )
  .action(async (options: { brokers: string[]; config?: string; from: 'earliest' | 'latest'; instanceId?: string }) => {
    const log = logger();
    const [{ startDetectors }, { loadDetectorsConfig }, { RULES }, { createSinks }, { createTransport }] =
      await Promise.all([
        import('../detectors/runtime.ts'),
        import('./detectors-config.ts'),
        import('../detectors/rules/index.ts'),
        import('../detectors/sinks/index.ts'),
        import('../transport/index.ts'),
      ]);
    const config = await loadDetectorsConfig(RULES, options.config === undefined ? {} : { path: options.config });
    const transport = await createTransport({
      kind: 'kafka',
      kafka: { brokers: options.brokers, clientId: 'mcpwatch-detectors' },
    });
    const runtime = await startDetectors({
      transport,
      config,
      sinks: createSinks(config.sinks, { transport }),
      logger: log,
      from: options.from,
      processMetrics: true,
      ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
    });
    process.stderr.write(
      `mcpwatch detectors: group ${config.groupId}, ${config.rules.length} rules` +
        (runtime.opsAddress === undefined ? '' : `, ops on ${runtime.opsAddress}`) +
        '\n',
    );
    const stopped = runtime.done.then(
      () => undefined,
      (error: unknown) => error,
    );
    const reason = await Promise.race([
      stopped,
      runUntilSignal(async () => {
        await runtime.close();
      }, log).then(() => undefined),
    ]);
    await transport.close();
    if (reason !== undefined)
      throw reason instanceof Error ? reason : new Error('the detectors stopped', { cause: reason });
  });

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const proxy = program
  .command('proxy')
  .usage('[options] -- <command...>  |  --upstream <url> [--listen host:port]')
  .description(
    'Watch an MCP server you do not own: run it behind a stdio relay (-- <command...>) or reverse-proxy its Streamable HTTP endpoint (--upstream <url>). Traffic is relayed unchanged; events export like the in-process instrumentation (OTEL_EXPORTER_OTLP_ENDPOINT, MCPWATCH_*).',
  )
  .argument('[command...]', 'the server command and its arguments, after --')
  .option('--name <name>', 'server name for events and the pin file (default: derived from the command or URL)')
  .option('--upstream <url>', 'the Streamable HTTP MCP endpoint to reverse-proxy')
  .option('--listen <host:port>', 'address of the HTTP proxy', '127.0.0.1:4330')
  .addOption(
    new Option(
      '--auth-token <token>',
      'token clients send as Proxy-Authorization: Bearer; required beyond loopback',
    ).env('MCPWATCH_PROXY_AUTH_TOKEN'),
  )
  .option('--allowed-host <host:port>', 'accept this Host header too (repeatable)', collect, [])
  .option('--allowed-origin <origin>', 'accept this Origin too (repeatable; loopback origins always are)', collect, [])
  .option('--issuer <url>', 'verify relayed bearer tokens against this issuer (else claims are recorded unverified)')
  .option('--jwks-uri <url>', "the issuer's JWKS URL")
  .option('--jwks-file <file>', "the issuer's JWKS as a file")
  .option('--audience <aud>', 'expected token audience when verifying')
  .option('--enforce', 'pin tool definitions; withhold drifted or flagged tools until `mcpwatch proxy approve`')
  .option('--pins <file>', 'pin file (default: per server under ~/.mcpwatch/pins, or MCPWATCH_PIN_DIR)')
  .addOption(
    new Option('--pin-store-unreadable <mode>', 'when the pin file cannot be read: serve all tools, or withhold all')
      .choices(['open', 'closed'])
      .default('closed'),
  )
  .option('--max-observed-bytes <n>', 'largest message handed to the observer (larger ones are relayed, not observed)')
  .action(async (command: string[], flags: Record<string, unknown>) => {
    const log = logger(true);
    const { parseProxyOptions, runStdio, runHttp } = await import('../proxy/command.ts');
    const options = parseProxyOptions({ ...flags, command });
    if (options.upstream !== undefined) {
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await runHttp(options, log, stopped);
      return;
    }
    const exit = await runStdio(options, log);
    // Exit as the server did: its signal re-raised on us, else its code.
    if (exit.signal !== null) process.kill(process.pid, exit.signal);
    else process.exit(exit.code ?? 1);
  });

proxy
  .command('approve')
  .description('Approve the withheld definitions of a server (all of them, or one tool): they become its pins.')
  .argument('<server>', 'the server name the proxy runs under (--name, or the derived name in its warning)')
  .argument('[tool]', 'only this tool')
  .option('--pins <file>', 'pin file (default: per server under ~/.mcpwatch/pins, or MCPWATCH_PIN_DIR)')
  .action(async (server: string, tool: string | undefined, options: { pins?: string }) => {
    const { approve } = await import('../proxy/command.ts');
    // `--pins` after `approve` may be taken by `proxy`, which has the same option.
    const pins = options.pins ?? proxy.opts<{ pins?: string }>().pins;
    process.stdout.write((await approve(server, tool, pins)) + '\n');
  });

program
  .command('replay')
  .description('Run the detectors offline over recorded events (JSON Lines), in event-time order.')
  .argument('<file>', 'events, one McpEvent JSON object per line')
  .option('--alerts-out <file>', 'write alerts as JSON Lines here instead of stdout')
  .addOption(
    new Option('--format <format>', 'alerts as mcpwatch JSON or as OCSF 1.8.0 Detection Findings')
      .choices(['mcpwatch', 'ocsf'])
      .default('mcpwatch'),
  )
  .option('--config <file>', 'detectors configuration (JSON or YAML)')
  .option('--strict', 'stop at the first bad line instead of counting it')
  .action(
    async (
      file: string,
      options: { alertsOut?: string; format: 'mcpwatch' | 'ocsf'; config?: string; strict?: boolean },
    ) => {
      const [{ replayFile }, { loadDetectorsConfig }, { RULES }, { FileSink, StdoutSink }] = await Promise.all([
        import('../detectors/replay.ts'),
        import('./detectors-config.ts'),
        import('../detectors/rules/index.ts'),
        import('../detectors/sinks/index.ts'),
      ]);
      const config = await loadDetectorsConfig(RULES, options.config === undefined ? {} : { path: options.config });
      const sink =
        options.alertsOut === undefined
          ? new StdoutSink(options.format === 'ocsf' ? 'ocsf' : 'json')
          : new FileSink(options.alertsOut, options.format);
      const report = await replayFile(file, { config, sinks: [sink], strict: options.strict === true });
      await sink.close();
      process.stderr.write(
        `replayed ${report.events} events from ${report.lines} lines: ${report.alerts} alerts` +
          (report.badLines > 0
            ? `, ${report.badLines} bad lines (first: line ${report.badLineSamples[0]?.line}: ${report.badLineSamples[0]?.reason})`
            : '') +
          '\n',
      );
    },
  );

program
  .command('demo')
  .description(
    'Run `serve` with sample MCP servers and a scripted agent doing benign work, then attacks. With KAFKA_BROKERS set, the collector and detectors run as separate processes over Kafka.',
  )
  .addOption(new Option('--dashboard-port <port>', 'local dashboard port').argParser(port).default(4320))
  .option('--keep-running', 'leave the pipeline and dashboard up after the scenario')
  .action(async (options: { dashboardPort: number; keepRunning?: boolean }) => {
    const { runDemo } = await import('../demo/run.ts');
    const brokers = process.env.KAFKA_BROKERS ? brokerList(process.env.KAFKA_BROKERS) : undefined;
    const result = await runDemo({
      dashboardPort: options.dashboardPort,
      keepRunning: options.keepRunning === true,
      logger: logger(true),
      ...(brokers === undefined ? {} : { kafkaBrokers: brokers }),
    });
    process.exitCode = result.passed ? 0 : 1;
  });

/**
 * The dashboards to validate: in a checkout the source folder (so an edited query is checked before the next
 * build), in an installed package the copy that ships in `dist/`.
 */
function defaultDashboardsDir(): string {
  const beside = fileURLToPath(new URL('../dashboards/', import.meta.url));
  const checkout = fileURLToPath(new URL('../../dashboards/', import.meta.url));
  const compiled = path.basename(path.dirname(path.dirname(fileURLToPath(import.meta.url)))) === 'dist';
  return compiled && existsSync(path.join(checkout, 'hunting')) ? checkout : beside;
}

program
  .command('validate')
  .description('Compile every shipped KQL query against the contract schemas and check Sentinel rule constraints.')
  .argument('[dir]', "dashboards directory (default: the checkout's dashboards/, else the installed copy)")
  .action(async (given: string | undefined) => {
    const dir = given ?? defaultDashboardsDir();
    process.stderr.write(`Validating ${dir}\n`);
    const [{ validateDashboards }, { formatDiagnostic }] = await Promise.all([
      import('../dashboards/validate/validate-dashboards.ts'),
      import('../dashboards/validate/diagnostic.ts'),
    ]);
    const diagnostics = await validateDashboards(dir);
    for (const diagnostic of diagnostics) process.stderr.write(formatDiagnostic(diagnostic) + '\n');
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity !== 'warning').length;
    process.stderr.write(
      errors === 0 ? 'All dashboards, rules and queries are valid.\n' : `${errors} problems found.\n`,
    );
    process.exitCode = errors === 0 ? 0 : 1;
  });

program
  .command('config')
  .description('Print configuration schemas.')
  .command('schema')
  .description('Print the JSON Schema of a configuration file.')
  .addArgument(new Argument('[which]', 'which configuration').choices(['detectors', 'collector']).default('detectors'))
  .action(async (which: 'detectors' | 'collector') => {
    if (which === 'collector') {
      const [{ z }, { CollectorConfig }] = await Promise.all([import('zod'), import('../collector/config.ts')]);
      process.stdout.write(JSON.stringify(z.toJSONSchema(CollectorConfig, { io: 'input' }), null, 2) + '\n');
      return;
    }
    const [{ detectorsConfigJsonSchema }, { RULES }] = await Promise.all([
      import('../detectors/config.ts'),
      import('../detectors/rules/index.ts'),
    ]);
    process.stdout.write(JSON.stringify(detectorsConfigJsonSchema(RULES), null, 2) + '\n');
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof InvalidArgumentError) {
    process.stderr.write(`mcpwatch: ${error.message}\n`);
    process.exit(2);
  }
  const message = isMcpwatchError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? (error.stack ?? error.message)
      : String(error);
  process.stderr.write(`mcpwatch: ${message}\n`);
  process.exit(1);
});
