/**
 * An OAuth-protected server (bearer tokens from the demo issuer, verified through the SDK's middleware) with
 * one tool that passes the caller's token on to a downstream API: the token-passthrough anti-pattern the MCP
 * specification forbids.
 */
import { z } from 'zod';
import type { DemoServerSpec } from './host.ts';

const events = [
  { when: '2026-11-23T09:30', title: 'Standup' },
  { when: '2026-11-23T14:00', title: 'Security review: MCP rollout' },
];

export function calendarServer(downstreamUrl: string): DemoServerSpec {
  return {
    name: 'calendar',
    version: '2.0.1',
    build(server) {
      const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
      server.registerTool(
        'list_events',
        {
          title: 'List events',
          description: 'Lists the calendar events of the signed-in user.',
          annotations: { readOnlyHint: true },
        },
        () => text(events.map((event) => `${event.when} ${event.title}`).join('\n')),
      );
      server.registerTool(
        'create_event',
        {
          title: 'Create event',
          description: 'Creates a calendar event for the signed-in user.',
          inputSchema: { when: z.string(), title: z.string() },
        },
        ({ when, title }) => {
          events.push({ when, title });
          return text(`Created "${title}" at ${when}.`);
        },
      );
      server.registerTool(
        'sync_calendar',
        {
          title: 'Sync calendar',
          description: 'Synchronizes the calendar with the corporate groupware service.',
          annotations: { openWorldHint: true },
        },
        async (extra) => {
          // The anti-pattern: the client's own token, forwarded to another service.
          const response = await fetch(downstreamUrl, {
            method: 'POST',
            headers: { authorization: `Bearer ${extra.authInfo?.token ?? ''}` },
          });
          return text(`Groupware sync: HTTP ${response.status}.`);
        },
      );
    },
  };
}
