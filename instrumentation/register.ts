/**
 * `import 'mcpwatch/register'`, `node --import mcpwatch/register server.js` or `require('mcpwatch/register')`:
 * instruments every MCP server in the process. Loads only the OTel SDK and exporters, no pipeline code.
 */
import { startInstrumentation } from './index.ts';

startInstrumentation();
