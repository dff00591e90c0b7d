/** The detectors configuration of the demo: the inventory and policies a team would declare for these servers. */
import type { DetectorsConfig } from '../detectors/config.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { DEMO_ISSUER } from './issuer.ts';

export function demoDetectorsConfig(alertsPath: string): DetectorsConfig {
  return parseDetectorsConfig(
    {
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
    },
    RULES,
  );
}
