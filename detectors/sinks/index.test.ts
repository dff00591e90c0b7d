import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALERTS_TABLE } from '../../contracts/log-analytics.ts';
import { STAND_IN_TOKEN, startLogsIngestionStandIn } from '../../test/support/logs-ingestion-stand-in.ts';
import { parseDetectorsConfig } from '../config.ts';
import { RULES } from '../rules/index.ts';
import { alertFixture, standInCredential } from '../../test/support/azure-monitor-fixtures.ts';
import { createSinks } from './index.ts';
import { waitFor } from '../../test/support/wait-for.ts';

test('an azure-monitor sink in the detectors configuration delivers through the Logs Ingestion API', async () => {
  const standIn = await startLogsIngestionStandIn({ token: STAND_IN_TOKEN });
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-sinks-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  try {
    const config = parseDetectorsConfig(
      {
        sinks: [
          {
            type: 'azure-monitor',
            endpoint: standIn.endpoint,
            dcrImmutableId: standIn.dcrImmutableId,
            caFile: join(directory, 'ca.pem'),
            spool: { directory: join(directory, 'spool') },
          },
        ],
      },
      RULES,
    );
    const [sink] = createSinks(config.sinks, { azureCredential: standInCredential });
    assert.equal(sink!.name, 'azure-monitor');
    const alert = alertFixture(0);
    await sink!.deliver([alert]);
    await waitFor('the row arrives at the stand-in', () => standIn.rows(ALERTS_TABLE.name).length === 1);
    assert.equal(standIn.rows(ALERTS_TABLE.name)[0]!.AlertId, alert.alertId);
    assert.deepEqual(await sink!.health(), { healthy: true });
    await sink!.close();
  } finally {
    await standIn.close();
  }
});

test('a bad azure-monitor sink fails the configuration with its key path', () => {
  assert.throws(
    () => parseDetectorsConfig({ sinks: [{ type: 'azure-monitor', endpoint: 'http://insecure', spool: {} }] }, RULES),
    /sinks\[0\]\.endpoint: expected an https:\/\/ URL/,
  );
});
