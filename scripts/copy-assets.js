// Copies what the compiled code reads at run time (pages, KQL content, generated schemas) into dist/, at the
// same relative places as in the source tree, so `node dist/cli/main.js` finds them as `tsx cli/main.ts` does.
import { cpSync, existsSync } from 'node:fs';

const ASSETS = [
  'local-dashboard/page',
  'contracts/generated',
  'dashboards/kql',
  'dashboards/hunting',
  'dashboards/parsers',
  'dashboards/sentinel/rules',
  'dashboards/workbooks',
];

for (const path of ASSETS) {
  if (!existsSync(path)) throw new Error(`asset directory ${path} is missing`);
  cpSync(path, `dist/${path}`, { recursive: true });
}
