/**
 * `import 'mcpwatch/register'`, `node --import mcpwatch/register server.js` or `require('mcpwatch/register')`:
 * the same one import as `@mcpwatch/instrumentation/register`, kept for those who installed the pipeline
 * package. Loads the instrumentation only, no pipeline code.
 */
import '@mcpwatch/instrumentation/register';
