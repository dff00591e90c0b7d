import type { TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import type { SinkConfig } from '../config.ts';
import { TOPICS } from '../../transport/topics.ts';
import type { Transport } from '../../transport/types.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import type { AzureMonitorSinkConfig } from './azure-monitor-config.ts';
import { FileSink } from './file.ts';
import { KafkaSink } from './kafka.ts';
import { SplunkHecSink } from './splunk-hec.ts';
import { StdoutSink } from './stdout.ts';
import type { AlertSink, SinkHealth } from './types.ts';
import { WebhookSink } from './webhook.ts';

export interface SinkDependencies {
  /** Required by `kafka` sinks. */
  transport?: Transport;
  logger?: Logger;
  /** For `azure-monitor` sinks: a credential to use instead of the one the configuration implies. */
  azureCredential?: TokenCredential;
  /** Where `splunk-hec` sinks look up their token variable; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

/** The sinks a configuration asks for, in its order. */
export function createSinks(configs: readonly SinkConfig[], dependencies: SinkDependencies = {}): AlertSink[] {
  return configs.map((config, index) => {
    switch (config.type) {
      case 'kafka':
        if (dependencies.transport === undefined) {
          throw new McpwatchError('CONFIG_INVALID', `sinks[${index}]: a kafka sink needs a transport (brokers)`);
        }
        return new KafkaSink(
          dependencies.transport,
          config.topic ?? (config.format === 'ocsf' ? TOPICS.alertsOcsf : TOPICS.alerts),
          undefined,
          config.format ?? 'mcpwatch',
          // The schema requires eventsTopic with mcpwatch events, so the fallback is only ever OCSF's.
          config.auditEvents === true ? (config.eventsTopic ?? TOPICS.eventsOcsf) : undefined,
        );
      case 'file':
        return new FileSink(
          config.path,
          config.format ?? 'mcpwatch',
          config.auditEvents === true ? config.eventsPath : undefined,
        );
      case 'stdout':
        return new StdoutSink(config.format);
      case 'webhook':
        return new WebhookSink(config);
      case 'splunk-hec':
        return new SplunkHecSink(config, dependencies.env === undefined ? {} : { env: dependencies.env });
      case 'azure-monitor':
        return new AzureMonitorSinkLoader(config, {
          ...(dependencies.logger === undefined ? {} : { logger: dependencies.logger }),
          ...(dependencies.azureCredential === undefined ? {} : { credential: dependencies.azureCredential }),
        });
    }
  });
}

/**
 * Loads the Azure SDK only when an `azure-monitor` sink is configured, on first use; the configuration was
 * already validated with the rest of the file.
 */
class AzureMonitorSinkLoader implements AlertSink {
  readonly name = 'azure-monitor';
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  private sink: Promise<AlertSink> | undefined;

  constructor(
    private readonly config: AzureMonitorSinkConfig,
    private readonly dependencies: { logger?: Logger; credential?: TokenCredential },
  ) {
    if (config.auditEvents === true) {
      this.deliverEvents = (events) => this.loaded().then((sink) => sink.deliverEvents?.(events));
    }
  }

  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.loaded().then((sink) => sink.deliver(alerts));
  }

  health(): Promise<SinkHealth> {
    return this.loaded().then((sink) => sink.health());
  }

  async close(): Promise<void> {
    if (this.sink !== undefined) await (await this.sink).close();
  }

  private loaded(): Promise<AlertSink> {
    this.sink ??= import('./azure-monitor.ts').then(({ createAzureMonitorSink }) =>
      createAzureMonitorSink(this.config, this.dependencies),
    );
    return this.sink;
  }
}

export { FileSink, KafkaSink, SplunkHecSink, StdoutSink, WebhookSink };
