import { validateDashboards } from './validate-dashboards.ts';
import { formatDiagnostic } from './diagnostic.ts';
const d = await validateDashboards('dashboards');
for (const x of d) console.log(formatDiagnostic(x));
console.log(d.length, 'diagnostics');
