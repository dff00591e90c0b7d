/** The detectors configuration of the demo: the inventory and policies a team would declare for these servers. */
import type { DetectorsConfig } from '../detectors/config.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { DEMO_ISSUER } from './issuer.ts';

/** As it would be written in a configuration file (see `mcpwatch config schema`). */
export interface DemoConfigInput {
  groupId: string;
  environment: { knownServers: string[]; trustedIssuers: string[] };
  rules: Record<string, { enabled?: boolean; config?: Record<string, unknown> }>;
  sinks: Record<string, unknown>[];
  ops?: { port: number };
  engine?: { allowedLatenessMs?: number; idlePartitionMs?: number };
}

export function demoDetectorsConfigInput(alertsPath: string): DemoConfigInput {
  return {
    groupId: 'mcpwatch-demo',
    environment: {
      knownServers: ['workspace', 'calendar', 'weather', 'toolbox'],
      trustedIssuers: [DEMO_ISSUER],
    },
    rules: {
      'unauthenticated-access': { config: { serversRequiringAuth: ['calendar'] } },
    },
    // Alerts reach the terminal through the demo's own view, and a JSONL file for a look afterwards.
    sinks: [{ type: 'file', path: alertsPath }],
  };
}

export function demoDetectorsConfig(alertsPath: string): DetectorsConfig {
  return parseDetectorsConfig(demoDetectorsConfigInput(alertsPath), RULES);
}
