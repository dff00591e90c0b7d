import type { SinkConfig } from '../config.ts';
import type { Transport } from '../../transport/types.ts';
import { McpwatchError } from '../../errors.ts';
import { FileSink } from './file.ts';
import { KafkaSink } from './kafka.ts';
import { StdoutSink } from './stdout.ts';
import type { AlertSink } from './types.ts';
import { WebhookSink } from './webhook.ts';

export interface SinkDependencies {
  /** Required by `kafka` sinks. */
  transport?: Transport;
}

/** The sinks a configuration asks for, in its order. */
export function createSinks(configs: readonly SinkConfig[], dependencies: SinkDependencies = {}): AlertSink[] {
  return configs.map((config, index) => {
    switch (config.type) {
      case 'kafka':
        if (dependencies.transport === undefined) {
          throw new McpwatchError('CONFIG_INVALID', `sinks[${index}]: a kafka sink needs a transport (brokers)`);
        }
        return new KafkaSink(dependencies.transport, config.topic);
      case 'file':
        return new FileSink(config.path);
      case 'stdout':
        return new StdoutSink(config.format);
      case 'webhook':
        return new WebhookSink(config);
    }
  });
}

export { FileSink, KafkaSink, StdoutSink, WebhookSink };
