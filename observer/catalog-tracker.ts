import type { Context } from '@opentelemetry/api';
import type { Principal } from '../contracts/mcp-event.ts';
import { toolCatalogSnapshot } from './catalog.ts';
import type { Connection } from './connection.ts';
import { guard } from './telemetry.ts';
import type { ConnectionContext } from './types.ts';

/**
 * Which tool definitions the server served: a `tool-catalog` event for every `tools/list` answer, and for every
 * list change the server announces (read back through the attachment, since the notification carries none).
 */
export class CatalogTracker {
  constructor(
    private readonly connection: Connection,
    private readonly readToolList: ConnectionContext['readToolList'],
  ) {}

  onToolsListed(tools: readonly unknown[], principal: Principal | undefined, ctx: Context | undefined): void {
    this.#emit('tools/list', tools, principal, ctx);
  }

  onListChanged(): void {
    if (this.readToolList === undefined) return;
    const { telemetry } = this.connection;
    this.readToolList(this.connection.sessionId).then(
      (tools) =>
        guard('list_changed catalog', () => {
          if (Array.isArray(tools))
            this.#emit('list-changed', tools as unknown[], this.connection.boundPrincipal, undefined);
        }),
      () => telemetry.untracked.add(1, { reason: 'catalog-unavailable' }),
    );
  }

  #emit(
    trigger: 'tools/list' | 'list-changed',
    tools: readonly unknown[],
    principal: Principal | undefined,
    ctx: Context | undefined,
  ): void {
    const { telemetry } = this.connection;
    const snapshot = toolCatalogSnapshot(tools, this.connection.instructions);
    if (snapshot.omittedTools > 0) telemetry.untracked.add(snapshot.omittedTools, { reason: 'catalog-bound' });
    const { omittedTools, ...catalog } = snapshot;
    telemetry.emit(
      {
        ...this.connection.envelope(principal, undefined),
        kind: 'tool-catalog',
        trigger,
        ...catalog,
        ...(this.connection.protocolVersion === undefined ? {} : { protocolVersion: this.connection.protocolVersion }),
        ...(omittedTools > 0 ? { omittedTools } : {}),
      },
      this.connection.server,
      ctx,
    );
  }
}
