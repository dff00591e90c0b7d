/**
 * A local stand-in of Azure AI Content Safety Prompt Shields for tests. It speaks the documented wire protocol:
 * `POST /contentsafety/text:shieldPrompt?api-version=2024-09-01` with `Ocp-Apim-Subscription-Key` or an Entra
 * `Authorization: Bearer` token, a JSON body `{"userPrompt"?: string, "documents"?: string[]}` within the
 * documented input limits (user prompt up to 10,000 characters, up to five documents of 10,000 characters
 * together, counted in code points), answering `{"userPromptAnalysis":{"attackDetected"},
 * "documentsAnalysis":[{"attackDetected"}]}`. Errors are Azure Core error responses
 * (`{"error":{"code","message"}}` plus `x-ms-error-code`): 401 for a missing or wrong key with the Cognitive
 * Services message, 404 for an unsupported api-version, 400 `InvalidRequestBody`, 429 `TooManyRequests` with
 * `Retry-After` past the tier's requests per second (F0: 5), 500 `InternalError`, 503 `ServerBusy`.
 *
 * The verdict comes from the test (`isAttack`), never from mcpwatch's own patterns. Scripted faults stand for
 * what the service and the network do: statuses, slow answers, answers that never come.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SHIELD_STAND_IN_KEY = 'c0ffee00c0ffee00c0ffee00c0ffee00';
export const SHIELD_API_VERSIONS = ['2024-09-01', '2024-02-15-preview'];

export type ShieldFault =
  | { kind: 'pass' }
  | { kind: 'status'; status: 429 | 500 | 503; retryAfterSeconds?: number }
  /** Holds the request this long, then answers normally. */
  | { kind: 'delay'; ms: number }
  /** Never answers; the connection stays open until the client gives up. */
  | { kind: 'hang' };

export interface ShieldRequestRecord {
  status: number;
  documents: string[];
  userPrompt: string | undefined;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
  auth: 'key' | 'bearer' | 'none';
}

export interface PromptShieldsStandIn {
  /** `http://127.0.0.1:<port>`: the resource endpoint. */
  readonly endpoint: string;
  readonly requests: readonly ShieldRequestRecord[];
  /** Queues faults; each shieldPrompt request consumes the next one. */
  script(...faults: ShieldFault[]): void;
  close(): Promise<void>;
}

export interface ShieldStandInOptions {
  /** Decides each text's `attackDetected`: the test's own rule. */
  isAttack: (text: string) => boolean;
  key?: string;
  /** An Entra access token accepted as `Authorization: Bearer`. */
  bearerToken?: string;
  /** Requests per second before 429 (the F0 tier's 5; S0 allows 1000 per 10 s). */
  requestsPerSecond?: number;
}

const LIMITS = { maxUserPrompt: 10_000, maxDocuments: 5, maxDocumentsChars: 10_000 };

const codePoints = (text: string): number => [...text].length;

function azureError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  response
    .writeHead(status, { 'content-type': 'application/json', 'x-ms-error-code': code, ...headers })
    .end(JSON.stringify({ error: { code, message, details: [] } }));
}

export async function startPromptShieldsStandIn(options: ShieldStandInOptions): Promise<PromptShieldsStandIn> {
  const key = options.key ?? SHIELD_STAND_IN_KEY;
  const perSecond = options.requestsPerSecond ?? 5;
  const requests: ShieldRequestRecord[] = [];
  const faults: ShieldFault[] = [];
  const arrivals: number[] = [];
  const held = new Set<ServerResponse>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const record: ShieldRequestRecord = {
      status: 200,
      documents: [],
      userPrompt: undefined,
      receivedAt: Date.now(),
      auth: 'none',
    };
    requests.push(record);
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>): void => {
      record.status = status;
      azureError(response, status, code, message, headers);
    };

    const presentedKey = request.headers['ocp-apim-subscription-key'];
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (presentedKey === key) record.auth = 'key';
    else if (bearer !== undefined && bearer === options.bearerToken) record.auth = 'bearer';
    else {
      return fail(
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      );
    }
    if (request.method !== 'POST' || url.pathname !== '/contentsafety/text:shieldPrompt') {
      return fail(404, 'ResourceNotFound', 'Resource not found');
    }
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || !SHIELD_API_VERSIONS.includes(apiVersion)) {
      return fail(
        404,
        'UnsupportedApiVersion',
        `The HTTP resource that matches the request URI does not support the API version '${apiVersion ?? ''}'.`,
      );
    }

    const now = Date.now();
    while (arrivals.length > 0 && arrivals[0]! <= now - 1000) arrivals.shift();
    if (arrivals.length >= perSecond) {
      return fail(
        429,
        'TooManyRequests',
        'The current requests-per-second has exceeded the quota for your current tier.',
        { 'retry-after': '1' },
      );
    }
    arrivals.push(now);

    const fault = faults.shift();
    if (fault?.kind === 'status') {
      const codes = {
        429: ['TooManyRequests', 'The current requests-per-second has exceeded the quota for your current tier.'],
        500: ['InternalError', 'An unexpected error occurred.'],
        503: ['ServerBusy', 'The server cannot process the request temporarily.'],
      } as const;
      const [code, message] = codes[fault.status];
      return fail(
        fault.status,
        code,
        message,
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
      );
    }
    if (fault?.kind === 'hang') {
      record.status = 0;
      held.add(response);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));

    let body: { userPrompt?: unknown; documents?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return fail(400, 'InvalidRequestBody', 'The request body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null) {
      return fail(400, 'InvalidRequestBody', 'The request body must be an object.');
    }
    const { userPrompt, documents = [] } = body;
    if (userPrompt !== undefined && typeof userPrompt !== 'string') {
      return fail(400, 'InvalidRequestBody', 'userPrompt must be a string.');
    }
    if (!Array.isArray(documents) || !documents.every((document) => typeof document === 'string')) {
      return fail(400, 'InvalidRequestBody', 'documents must be an array of strings.');
    }
    if (userPrompt !== undefined && codePoints(userPrompt) > LIMITS.maxUserPrompt) {
      return fail(400, 'InvalidRequestBody', `userPrompt is longer than ${LIMITS.maxUserPrompt} characters.`);
    }
    if (documents.length > LIMITS.maxDocuments) {
      return fail(400, 'InvalidRequestBody', `At most ${LIMITS.maxDocuments} documents are allowed.`);
    }
    const documentChars = documents.reduce((sum, document) => sum + codePoints(document), 0);
    if (documentChars > LIMITS.maxDocumentsChars) {
      return fail(
        400,
        'InvalidRequestBody',
        `documents are longer than ${LIMITS.maxDocumentsChars} characters together.`,
      );
    }
    record.documents = documents;
    record.userPrompt = userPrompt;
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        userPromptAnalysis: { attackDetected: userPrompt !== undefined && options.isAttack(userPrompt) },
        documentsAnalysis: documents.map((document) => ({ attackDetected: options.isAttack(document) })),
      }),
    );
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) azureError(response, 500, 'InternalError', 'An unexpected error occurred.');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    script: (...next) => faults.push(...next),
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
