/**
 * Azure AI Content Safety Prompt Shields (`POST {endpoint}/contentsafety/text:shieldPrompt?api-version=2024-09-01`)
 * as a classifier backend. Everything classified is third-party content the model reads, so it goes in
 * `documents` (indirect attacks), up to five per request and 10,000 characters together; `userPrompt` is empty.
 * The answer's `documentsAnalysis[i].attackDetected` is the verdict for document `i`. Errors are the Azure Core
 * `{"error":{"code","message"}}` with `x-ms-error-code`; 429 and 5xx carry `Retry-After`.
 *
 * Billed per text record (up to 1,000 characters each) on the resource's pricing tier; see README.
 */
import type { TokenCredential } from '@azure/identity';
import { McpwatchError } from '../../contracts/errors.ts';
import {
  parseJsonOrUndefined,
  postJson,
  printable,
  refusal,
  type ClassificationInput,
  type ClassifierBackendClient,
  type Verdict,
} from './backend.ts';
import { PROMPT_SHIELDS_LIMITS, type PromptShieldsBackendConfig } from './config.ts';

const ENTRA_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface PromptShieldsDependencies {
  env?: NodeJS.ProcessEnv;
  /** Overrides the credential `auth: entra` implies (tests, or an application that holds one). */
  credential?: TokenCredential;
}

export class PromptShieldsBackend implements ClassifierBackendClient {
  readonly name = 'prompt-shields';
  readonly maxBatchItems = PROMPT_SHIELDS_LIMITS.maxDocuments;
  readonly maxBatchChars = PROMPT_SHIELDS_LIMITS.maxDocumentsChars;
  private readonly url: string;
  private readonly where: string;
  private readonly key: string | undefined;
  private credential: Promise<TokenCredential> | undefined;

  /** Throws `CONFIG_INVALID` when `auth: key` and the key variable is unset. */
  constructor(
    private readonly config: PromptShieldsBackendConfig,
    dependencies: PromptShieldsDependencies = {},
  ) {
    const base = new URL(config.endpoint);
    this.where = `Prompt Shields ${base.origin}`;
    this.url = `${base.origin}${base.pathname.replace(/\/$/, '')}/contentsafety/text:shieldPrompt?api-version=${encodeURIComponent(config.apiVersion)}`;
    if (config.auth === 'key') {
      const key = (dependencies.env ?? process.env)[config.keyEnv];
      if (key === undefined || key === '') {
        throw new McpwatchError(
          'CONFIG_INVALID',
          `classifier.backend: no Content Safety key (set ${config.keyEnv}, or auth: entra)`,
        );
      }
      this.key = key;
    } else if (dependencies.credential !== undefined) {
      this.credential = Promise.resolve(dependencies.credential);
    }
  }

  async classify(inputs: readonly ClassificationInput[], signal: AbortSignal): Promise<Verdict[]> {
    const documents = inputs.map((input) => input.text);
    const answer = await postJson(
      this.url,
      await this.authorization(),
      { userPrompt: '', documents },
      signal,
      this.where,
    );
    const parsed = parseJsonOrUndefined(answer.body) as
      { error?: { code?: unknown; message?: unknown }; documentsAnalysis?: unknown } | undefined;
    if (answer.status !== 200) {
      const code = answer.headers.get('x-ms-error-code') ?? parsed?.error?.code;
      const message = parsed?.error?.message;
      const detail = [code, message]
        .filter((part) => typeof part === 'string')
        .map((part) => printable(part, 200))
        .join(': ');
      throw refusal(this.where, answer, detail === '' ? undefined : detail);
    }
    const analyses = parsed?.documentsAnalysis;
    if (
      !Array.isArray(analyses) ||
      analyses.length !== documents.length ||
      !analyses.every((entry) => typeof (entry as { attackDetected?: unknown })?.attackDetected === 'boolean')
    ) {
      throw new McpwatchError(
        'CLASSIFICATION_FAILED',
        `${this.where} answered 200 without one documentsAnalysis entry per document`,
      );
    }
    return (analyses as { attackDetected: boolean }[]).map((entry) => ({ attackDetected: entry.attackDetected }));
  }

  private async authorization(): Promise<Record<string, string>> {
    if (this.key !== undefined) return { 'ocp-apim-subscription-key': this.key };
    this.credential ??= import('@azure/identity').then(
      ({ DefaultAzureCredential }) =>
        new DefaultAzureCredential(
          this.config.managedIdentityClientId === undefined
            ? {}
            : { managedIdentityClientId: this.config.managedIdentityClientId },
        ),
    );
    let token: string | undefined;
    try {
      token = (await (await this.credential).getToken(ENTRA_SCOPE))?.token;
    } catch (error) {
      throw new McpwatchError('CLASSIFICATION_FAILED', `${this.where}: no Microsoft Entra token`, {
        cause: error,
        retriable: true,
      });
    }
    if (token === undefined) {
      throw new McpwatchError('CLASSIFICATION_FAILED', `${this.where}: no Microsoft Entra token`, { retriable: true });
    }
    return { authorization: `Bearer ${token}` };
  }
}
