/** The dashboard's HTTP side without a browser: hostile paths, and what binding beyond loopback requires. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMcpwatchError } from '../contracts/errors.ts';
import { startDashboardServer } from './server.ts';
import { LocalDashboardStore } from './store.ts';

void test('a malformed percent-encoded alert id is answered 404, not 500', async () => {
  const dashboard = await startDashboardServer({ store: new LocalDashboardStore() });
  try {
    for (const id of ['%E0%A4%A', '%', '%zz']) {
      const response = await fetch(new URL(`/api/alerts/${id}`, dashboard.url));
      assert.equal(response.status, 404, id);
      assert.deepEqual(await response.json(), { error: 'no such alert' });
    }
  } finally {
    await dashboard.close();
  }
});

void test('bound beyond loopback the dashboard requires a token, and then every API request needs it', async () => {
  await assert.rejects(
    startDashboardServer({ store: new LocalDashboardStore(), host: '0.0.0.0' }),
    (error) => isMcpwatchError(error, 'CONFIG_INVALID') && /without authentication is refused/.test(error.message),
  );
  const dashboard = await startDashboardServer({ store: new LocalDashboardStore(), host: '0.0.0.0', token: 'tok-1' });
  try {
    const port = new URL(dashboard.url).port;
    const api = `http://127.0.0.1:${port}/api/summary`;
    assert.equal((await fetch(api)).status, 401);
    assert.equal((await fetch(api, { headers: { authorization: 'Bearer tok-2' } })).status, 401);
    assert.equal((await fetch(api, { headers: { authorization: 'Bearer tok-1' } })).status, 200);
  } finally {
    await dashboard.close();
  }
});
