/**
 * The OCSF mapping against the OCSF 1.8.0 schema files: every audit event of every rule fixture and every alert
 * the catalog raises over them validates, and the validator itself rejects records that break the schema.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Alert } from '../contracts/alert.ts';
import { McpEvent } from '../contracts/mcp-event.ts';
import { alertToOcsf, eventToOcsf, OCSF_VERSION, type OcsfRecord } from '../contracts/ocsf.ts';
import { loadEvents, runCatalog } from '../detectors/rules/fixtures/environment.ts';
import { loadOcsfSchema, OCSF_SCHEMA_DIR } from './support/ocsf-schema.ts';

const FIXTURES = fileURLToPath(new URL('../detectors/rules/fixtures/', import.meta.url));
const schema = loadOcsfSchema();

const fixtureFiles = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.jsonl'))
  .sort()
  .map((file) => join(FIXTURES, file));

function assertValid(record: OcsfRecord, what: string): void {
  assert.deepEqual(schema.validate(record), [], `${what} is not valid OCSF ${schema.version}`);
}

const FINGERPRINT = `hmac-sha256:${'ab'.repeat(32)}`;
const HASH = `sha256:${'cd'.repeat(32)}`;
const envelope = {
  schemaVersion: 1,
  time: '2026-03-02T09:00:00.000Z',
  server: { name: 'files', version: '1.2.0', instanceId: 'i-1', resource: 'https://files.example', host: 'files-0' },
  sessionId: 'session-1',
  principal: { id: 'user-1', pseudonymous: true, issuer: 'https://login.example.com' },
  client: { name: 'claude-desktop', version: '0.9', address: '2001:db8::1', userAgent: 'agent/1.0' },
  transport: 'streamable-http',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
};

/** One event of each kind with every optional field the contract has, so each mapping branch is validated. */
const fullEvents: McpEvent[] = [
  {
    ...envelope,
    eventId: 'call-1',
    kind: 'call',
    method: 'tools/call',
    tool: 'read_file',
    resourceUri: 'file:///etc/hosts',
    requestId: '7',
    protocolVersion: '2025-11-25',
    outcome: 'tool-error',
    errorType: 'tool_error',
    durationMs: 12.6,
    authenticated: true,
    tokenFingerprint: FINGERPRINT,
    scopes: ['files:read'],
    arguments: '{"path":"/etc/hosts"}',
    result: 'denied',
  },
  { ...envelope, eventId: 'list-1', kind: 'call', method: 'tools/list', outcome: 'ok', durationMs: 1 },
  {
    ...envelope,
    eventId: 'auth-1',
    kind: 'auth',
    outcome: 'rejected',
    token: { fingerprint: FINGERPRINT, issuer: 'https://evil.example', audience: ['x'], scopes: [] },
    audienceMatchesServer: false,
    reason: 'audience mismatch',
  },
  { ...envelope, eventId: 'auth-2', kind: 'auth', outcome: 'unverified-bearer' },
  {
    ...envelope,
    eventId: 'session-1',
    kind: 'session',
    action: 'principal-mismatch',
    idAssessment: { length: 8, charset: 'hex', entropyBits: 32, sequential: true },
    boundPrincipalId: 'user-0',
    boundClientAddress: '10.0.0.1',
  },
  { ...envelope, eventId: 'session-2', kind: 'session', action: 'closed' },
  {
    ...envelope,
    eventId: 'catalog-1',
    kind: 'tool-catalog',
    trigger: 'list-changed',
    tools: [{ name: 'read_file', description: 'Reads a file.', hash: HASH }],
    listHash: HASH,
    instructions: 'Be careful.',
    instructionsHash: HASH,
  },
  {
    ...envelope,
    eventId: 'outbound-1',
    kind: 'outbound-request',
    destinationHost: 'api.github.com',
    method: 'GET',
    tokenFingerprint: FINGERPRINT,
  },
  {
    ...envelope,
    eventId: 'enforcement-1',
    kind: 'enforcement',
    action: 'blocked',
    reason: 'drift',
    tool: 'search',
    definitionHash: `sha256:${'a'.repeat(64)}`,
    pinnedHash: `sha256:${'b'.repeat(64)}`,
    appliedTo: 'tools/list',
  },
  {
    ...envelope,
    eventId: 'input-1',
    kind: 'input-request',
    delivery: 'input-required',
    inputMethod: 'elicitation/create',
    inputKey: 'confirm',
    method: 'tools/call',
    requestId: '9',
    tool: 'transfer',
    prompt: 'pay',
    resourceUri: 'bank://accounts/1',
    tokenFingerprint: FINGERPRINT,
    elicitationMode: 'url',
    message: 'Confirm the transfer.',
    requestedFields: [{ name: 'amount', type: 'number', format: 'decimal', title: 'Amount', description: 'EUR' }],
    url: 'https://bank.example/confirm',
    urlHost: 'bank.example',
  },
  {
    ...envelope,
    eventId: 'classification-1',
    kind: 'classification',
    backend: 'openai-judge',
    subject: 'tool-result',
    sourceEventId: 'call-1',
    tool: 'search',
    contentHash: `sha256:${'c'.repeat(64)}`,
    attackDetected: true,
    confidence: 0.9,
    category: 'indirect-prompt-injection',
    rationale: 'The result tells the assistant to send files elsewhere.',
    model: 'judge-small',
    contentChars: 12_000,
    truncated: true,
    cached: false,
    classifiedAt: '2026-03-02T09:00:03Z',
  },
  // The least an event can carry: stdio, no principal, session or client.
  {
    schemaVersion: 1,
    eventId: 'bare-1',
    time: '2026-03-02T09:00:00Z',
    server: { name: 'files' },
    transport: 'stdio',
    kind: 'call',
    method: 'initialize',
    outcome: 'ok',
    durationMs: 0,
  },
].map((event) => McpEvent.parse(event));

void describe(`OCSF ${OCSF_VERSION} mapping`, () => {
  void test('targets the vendored schema version', () => {
    assert.equal(schema.version, OCSF_VERSION);
    assert.ok(OCSF_SCHEMA_DIR.endsWith(`${OCSF_VERSION}/`));
  });

  void test('every audit event of every rule fixture is a valid API Activity with the ai_operation profile', () => {
    let events = 0;
    for (const file of fixtureFiles) {
      for (const event of loadEvents(file)) {
        const record = eventToOcsf(event, { productVersion: '0.1.0' });
        assertValid(record, `${file}: ${event.eventId}`);
        assert.equal(record.class_uid, 6003);
        assert.deepEqual((record.metadata.profiles as string[]).slice(0, 1), ['ai_operation']);
        events += 1;
      }
    }
    assert.ok(events > 300, `only ${events} fixture events`);
  });

  void test('every optional field of every event kind maps to valid OCSF', () => {
    const kinds = McpEvent.options.map((option) => option.shape.kind.value);
    assert.deepEqual(new Set(fullEvents.map((event) => event.kind)), new Set(kinds), 'a full event of each kind');
    for (const event of fullEvents) assertValid(eventToOcsf(event), `${event.kind} ${event.eventId}`);
    const [call, list] = fullEvents.map((event) => eventToOcsf(event));
    assert.equal(call!.activity_id, 99);
    assert.equal(call!.type_uid, 600399);
    assert.deepEqual(call!.api, {
      operation: 'tools/call',
      service: { name: 'files', version: '1.2.0', uid: 'i-1' },
      request: { uid: '7' },
      version: '2025-11-25',
    });
    assert.equal(call!.status_id, 2);
    assert.equal(call!.status_detail, 'tool_error');
    assert.equal(call!.duration, 13);
    assert.deepEqual(call!.metadata.profiles, ['ai_operation', 'trace']);
    assert.deepEqual((call!.message_context as { ai_role_id: number }).ai_role_id, 3);
    assert.equal(list!.activity_id, 2);
    assert.equal(list!.type_name, 'API Activity: Read');
    const verdict = eventToOcsf(fullEvents.find((event) => event.kind === 'classification')!);
    assert.deepEqual(verdict.ai_model, { name: 'judge-small', ai_provider: 'OpenAI-compatible endpoint' });
    assert.equal(verdict.status_id, 2);
  });

  void test('every alert the catalog raises over the fixtures is a valid Detection Finding', () => {
    let alerts = 0;
    const rules = new Set<string>();
    for (const file of fixtureFiles) {
      for (const alert of runCatalog(loadEvents(file)).alerts) {
        const record = alertToOcsf(alert);
        assertValid(record, `${file}: alert of ${alert.ruleId}`);
        rules.add(alert.ruleId);
        alerts += 1;
      }
    }
    assert.ok(alerts > 30, `only ${alerts} alerts`);
    assert.ok(rules.size >= 15, `alerts of only ${rules.size} rules`);
  });

  void test('a finding carries the rule, severity, ATT&CK, OWASP MCP ids, entities and evidence', () => {
    const alert = Alert.parse({
      schemaVersion: 1,
      alertId: 'a'.repeat(32),
      ruleId: 'token-passthrough',
      ruleVersion: 3,
      severity: 'critical',
      title: 'Token passed through',
      description: 'The server forwarded the client token upstream.',
      time: '2026-03-02T09:00:00Z',
      entities: { user: 'user-1', session: 's-1', server: 'files', tool: 'sync', client: 'cli', ip: 'not-an-ip' },
      evidence: { destinationHost: 'api.github.com' },
      owasp: ['MCP01', 'MCP07'],
      attack: ['T1550.001', 'AML.T0051'],
      eventIds: ['e-1', 'e-2'],
      count: 4,
    });
    const record = alertToOcsf(alert);
    assertValid(record, 'the finding');
    assert.equal(record.type_uid, 200401);
    assert.equal(record.severity_id, 5);
    assert.equal(record.count, 4);
    const info = record.finding_info as Record<string, unknown>;
    assert.equal(info.uid, alert.alertId);
    assert.deepEqual(info.analytic, {
      uid: 'token-passthrough',
      name: 'token-passthrough',
      type_id: 1,
      type: 'Rule',
      version: '3',
    });
    assert.deepEqual(info.attacks, [
      { technique: { uid: 'T1550' }, sub_technique: { uid: 'T1550.001' } },
      { technique: { uid: 'AML.T0051' } },
    ]);
    assert.deepEqual(info.tags, [{ name: 'owasp_mcp_top_10', values: ['MCP01', 'MCP07'] }]);
    assert.deepEqual(info.related_events, [{ uid: 'e-1' }, { uid: 'e-2' }]);
    const [evidence] = record.evidences as Record<string, unknown>[];
    assert.deepEqual(evidence!.data, { destinationHost: 'api.github.com' });
    assert.deepEqual(evidence!.actor, { user: { uid: 'user-1' }, session: { uid: 's-1' }, app_name: 'cli' });
    // An ip entity that is not an IP address is kept, but not as an OCSF ip_t.
    assert.deepEqual(record.unmapped, { entities: { ip: 'not-an-ip' } });
    assert.deepEqual(
      (record.observables as { value: string }[]).map((observable) => observable.value),
      ['user-1', 's-1', 'cli', 'files', 'sync'],
    );
  });

  void test('the validator rejects records that break the schema', () => {
    const valid = alertToOcsf(runCatalog(loadEvents(fixtureFiles.find((f) => f.includes('/positive/'))!)).alerts[0]!);
    assertValid(valid, 'the unbroken finding');
    /** The record with the value at a dotted path replaced (`undefined` deletes it). */
    const broken = (path: string, value: unknown): string[] => {
      const record = structuredClone(valid) as Record<string, unknown>;
      const keys = path.split('.');
      let node = record;
      for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
      if (value === undefined) delete node[keys.at(-1)!];
      else node[keys.at(-1)!] = value;
      return schema.validate(record);
    };
    const firstEvidence = (valid.evidences as unknown[])[0];
    const cases: [string, string, unknown, RegExp][] = [
      ['type_uid arithmetic', 'type_uid', 200402, /^type_uid: expected/],
      ['class of another category', 'category_uid', 6, /^category_uid: expected 2/],
      ['unknown class', 'class_uid', 2999, /not a vendored class/],
      ['missing required attribute', 'finding_info.uid', undefined, /^finding_info\.uid: required/],
      ['missing required object', 'metadata.product', undefined, /^metadata\.product: required/],
      ['unknown attribute', 'rule_id', 'x', /^rule_id: not an attribute of detection_finding/],
      ['wrong scalar type', 'time', '2026-01-01', /^time: expected a long/],
      ['enum id out of range', 'severity_id', 7, /^severity_id: 7 is not one of/],
      ['caption sibling mismatch', 'severity', 'Low', /^severity_id: sibling severity/],
      ['array expected', 'evidences', firstEvidence, /^evidences: expected an array/],
      ['constraint at_least_one', 'finding_info.attacks', [{ version: '16' }], /needs at least one of/],
      ['type regex', 'evidences.0.src_endpoint', { ip: '999.1.1.1' }, /not a valid ip_t/],
      ['observable type id', 'observables', [{ name: 'x', type_id: 4242 }], /not an observable type/],
      ['profile not declared', 'cloud', { provider: 'aws' }, /profile cloud, not in metadata\.profiles/],
      ['schema version', 'metadata.version', '1.7.0', /^metadata\.version: expected 1\.8\.0/],
    ];
    for (const [name, path, value, expected] of cases) {
      const problems = broken(path, value);
      assert.ok(
        problems.some((problem) => expected.test(problem)),
        `${name}: ${JSON.stringify(problems)}`,
      );
    }
  });

  void test('the validator rejects API Activity records that break the schema', () => {
    const valid = eventToOcsf(fullEvents[0]!);
    assertValid(valid, 'the unbroken API Activity');
    const broken = (change: (record: Record<string, unknown>) => void): string[] => {
      const record = structuredClone(valid) as Record<string, unknown>;
      change(record);
      return schema.validate(record);
    };
    const cases: [string, (record: Record<string, unknown>) => void, RegExp][] = [
      ['missing required actor', (record) => delete record.actor, /^actor: required/],
      ['missing required src_endpoint', (record) => delete record.src_endpoint, /^src_endpoint: required/],
      [
        'missing required api.operation',
        (record) => delete (record.api as Record<string, unknown>).operation,
        /^api\.operation: required/,
      ],
      [
        'wrong type of api.operation',
        (record) => ((record.api as Record<string, unknown>).operation = 7),
        /^api\.operation: expected a string/,
      ],
      [
        'activity id of no API activity',
        (record) => Object.assign(record, { activity_id: 5, type_uid: 600305 }),
        /^activity_id: 5 is not one of/,
      ],
      [
        'ai_operation profile not declared',
        (record) => ((record.metadata as Record<string, unknown>).profiles = ['trace']),
        /^message_context: belongs to profile ai_operation/,
      ],
      [
        'wrong type in the profile object',
        (record) => ((record.message_context as Record<string, unknown>).ai_role_id = 'tool'),
        /^message_context\.ai_role_id: expected an integer/,
      ],
      [
        'a Detection Finding attribute',
        (record) => (record.finding_info = { uid: 'x' }),
        /^finding_info: not an attribute of api_activity/,
      ],
    ];
    for (const [name, change, expected] of cases) {
      const problems = broken(change);
      assert.ok(
        problems.some((problem) => expected.test(problem)),
        `${name}: ${JSON.stringify(problems)}`,
      );
    }
  });

  void test('records are plain JSON: what a sink writes parses back to the same record', () => {
    for (const event of fullEvents) {
      const record = eventToOcsf(event);
      assert.deepEqual(JSON.parse(JSON.stringify(record)), record);
    }
    assert.ok(readFileSync(join(OCSF_SCHEMA_DIR, 'LICENSE'), 'utf8').includes('Apache License'));
  });
});
