/**
 * A local stand-in of an OpenAI-compatible chat completions server (what llama.cpp's `llama-server`, vLLM and
 * Ollama serve under `/v1`) for tests. It speaks the wire protocol: `POST /v1/chat/completions` with a JSON body
 * (`model` and `messages` of `{role, content}` required; `temperature`, `max_tokens`, `response_format`
 * `{"type":"json_object"}` accepted), an optional `Authorization: Bearer` key, and answers a `chat.completion`
 * object (`id`, `object`, `created`, `model`, `choices[0].message {role: assistant, content}`, `finish_reason`,
 * `usage`). Errors are OpenAI error objects (`{"error":{"message","type","param","code"}}`): 401
 * `invalid_api_key`, 404 `model_not_found`, 400 `invalid_request_error`, 429 with `Retry-After`, 500.
 *
 * What the "model" answers comes from the test (`answer`), given the messages; it can be any text, which is how
 * tests feed the judge garbage. Scripted faults: statuses, slow answers, an answer cut at `max_tokens`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ChatFault =
  | { kind: 'pass' }
  | { kind: 'status'; status: 429 | 500 | 503; retryAfterSeconds?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  /** Answers with `finish_reason: length`, as when `max_tokens` cut the completion. */
  | { kind: 'cut' };

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequestRecord {
  status: number;
  model: string | undefined;
  messages: ChatMessage[];
  responseFormat: unknown;
  receivedAt: number;
}

export interface OpenAiChatStandIn {
  /** `http://127.0.0.1:<port>/v1`: the API base as OpenAI clients take it. */
  readonly baseUrl: string;
  readonly requests: readonly ChatRequestRecord[];
  script(...faults: ChatFault[]): void;
  close(): Promise<void>;
}

export interface ChatStandInOptions {
  /** The served model names; another name is a 404. */
  models: string[];
  /** The assistant's content for a request: the test's own rule. */
  answer: (messages: readonly ChatMessage[]) => string;
  /** Required as `Authorization: Bearer` when set. */
  apiKey?: string;
}

function openAiError(
  response: ServerResponse,
  status: number,
  error: { message: string; type: string; param: string | null; code: string | null },
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error }));
}

export async function startOpenAiChatStandIn(options: ChatStandInOptions): Promise<OpenAiChatStandIn> {
  const requests: ChatRequestRecord[] = [];
  const faults: ChatFault[] = [];
  const held = new Set<ServerResponse>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const record: ChatRequestRecord = {
      status: 200,
      model: undefined,
      messages: [],
      responseFormat: undefined,
      receivedAt: Date.now(),
    };
    requests.push(record);
    const fail = (status: number, error: Parameters<typeof openAiError>[2], headers?: Record<string, string>): void => {
      record.status = status;
      openAiError(response, status, error, headers);
    };
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return fail(401, {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
    }
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (request.method !== 'POST' || path !== '/v1/chat/completions') {
      return fail(404, {
        message: `Unknown request URL: ${path}`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
    }
    const fault = faults.shift();
    if (fault?.kind === 'status') {
      return fail(
        fault.status,
        fault.status === 429
          ? { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' }
          : {
              message: 'The server had an error while processing your request.',
              type: 'server_error',
              param: null,
              code: null,
            },
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
      );
    }
    if (fault?.kind === 'hang') {
      record.status = 0;
      held.add(response);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));

    let body: { model?: unknown; messages?: unknown; response_format?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return fail(400, {
        message: 'We could not parse the JSON body of your request.',
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
    }
    if (typeof body.model !== 'string') {
      return fail(400, {
        message: 'you must provide a model parameter',
        type: 'invalid_request_error',
        param: 'model',
        code: null,
      });
    }
    if (
      !Array.isArray(body.messages) ||
      body.messages.length === 0 ||
      !body.messages.every(
        (message) =>
          typeof (message as ChatMessage)?.role === 'string' && typeof (message as ChatMessage).content === 'string',
      )
    ) {
      return fail(400, {
        message: "'messages' must be a non-empty array of messages",
        type: 'invalid_request_error',
        param: 'messages',
        code: null,
      });
    }
    if (!options.models.includes(body.model)) {
      return fail(404, {
        message: `The model \`${body.model}\` does not exist or you do not have access to it.`,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      });
    }
    record.model = body.model;
    record.messages = body.messages as ChatMessage[];
    record.responseFormat = body.response_format;
    const content = options.answer(record.messages);
    const promptTokens = Math.ceil(record.messages.reduce((sum, message) => sum + message.content.length, 0) / 4);
    const completionTokens = Math.ceil(content.length / 4);
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content },
            finish_reason: fault?.kind === 'cut' ? 'length' : 'stop',
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      }),
    );
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent)
        openAiError(response, 500, { message: 'Internal error', type: 'server_error', param: null, code: null });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...next) => faults.push(...next),
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
