/**
 * Writes the files generated from the zod contracts into `contracts/generated/`. Run `npm run generate`
 * after changing a contract; `generate.test.ts` fails while they are stale.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Alert } from './alert.ts';
import { TABLES } from './log-analytics.ts';
import { McpEvent } from './mcp-event.ts';

export const GENERATED_DIR = fileURLToPath(new URL('./generated/', import.meta.url));

function jsonSchemaOf(schema: z.ZodType, id: string, title: string): unknown {
  return { $id: id, title, ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) };
}

/** File name → content, exactly as committed. */
export function generatedFiles(): Record<string, string> {
  const files: Record<string, unknown> = {
    'mcp-event.schema.json': jsonSchemaOf(McpEvent, 'https://mcpwatch.dev/schema/mcp-event.v1.json', 'McpEvent'),
    'alert.schema.json': jsonSchemaOf(Alert, 'https://mcpwatch.dev/schema/alert.v1.json', 'Alert'),
    'log-analytics-tables.json': TABLES,
  };
  return Object.fromEntries(
    Object.entries(files).map(([name, value]) => [name, JSON.stringify(value, null, 2) + '\n']),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(GENERATED_DIR, { recursive: true });
  for (const [name, content] of Object.entries(generatedFiles())) {
    await writeFile(GENERATED_DIR + name, content);
    console.log(`wrote contracts/generated/${name}`);
  }
}
