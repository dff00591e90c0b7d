/**
 * Runs one demo server in its own process, as a user would run theirs:
 *   node --import mcpwatch/register demo/servers/main.ts <workspace|calendar|weather|toolbox>
 * Prints one JSON line `{"url": ...}` on stdout when it listens. Settings come from the environment.
 */
import { createLaxVerifier } from '../issuer.ts';
import { calendarServer } from './calendar.ts';
import { hostOverHttp, type HostOptions } from './host.ts';
import { hostOverHttpV2 } from './host-v2.ts';
import { toolboxServer } from './toolbox.ts';
import { weatherServer } from './weather.ts';
import { workspaceServer } from './workspace.ts';

const name = process.argv[2];
const port = Number(process.env.PORT ?? 0);

async function main(): Promise<void> {
  const options: HostOptions = { port };
  switch (name) {
    case 'workspace':
      return announce(await hostOverHttp(workspaceServer, options));
    case 'toolbox':
      return announce(await hostOverHttpV2(toolboxServer, options));
    case 'weather':
      return announce(await hostOverHttpV2(weatherServer(Number(process.env.RUG_PULL_AFTER ?? 3)), options));
    case 'calendar': {
      const jwk = JSON.parse(requireEnv('DEMO_ISSUER_JWK')) as Record<string, unknown>;
      const verifier = await createLaxVerifier(jwk);
      return announce(await hostOverHttp(calendarServer(requireEnv('DOWNSTREAM_URL')), { ...options, verifier }));
    }
    default:
      throw new Error(`unknown demo server ${JSON.stringify(name)}: expected workspace, calendar, weather or toolbox`);
  }
}

function requireEnv(key: string): string {
  const value = process.env[key];
  if (value === undefined || value === '') throw new Error(`${key} is not set`);
  return value;
}

function announce(server: { url: string; close(): Promise<void> }): void {
  process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
  const stop = (): void => void server.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo server ${name ?? '?'} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
