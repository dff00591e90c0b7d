import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contentHash } from '../../contracts/content-hash.ts';
import { McpEvent } from '../../contracts/mcp-event.ts';
import { RULES } from '../rules/index.ts';
import { parseDetectorsConfig } from '../config.ts';
import { startDetectors } from '../runtime.ts';
import { EmbeddedTransport } from '../../transport/embedded.ts';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { cut, piecesOf } from './content.ts';
import { CharacterBudget, LruMap, RequestRate } from './limits.ts';
import { classificationEventOf } from './stage.ts';

const tool = { name: 'search', description: 'Searches the web.', inputSchema: { type: 'object' } };
const catalog = McpEvent.parse({
  schemaVersion: 1,
  kind: 'tool-catalog',
  eventId: 'catalog-1',
  time: '2026-03-02T09:00:00.000Z',
  server: { name: 'web' },
  sessionId: 's-1',
  trigger: 'tools/list',
  tools: [{ ...tool, hash: contentHash(tool) }],
  listHash: contentHash([contentHash(tool)]),
  instructions: 'Use search for questions about the news.',
  instructionsHash: contentHash('Use search for questions about the news.'),
});

void describe('classifier stage, pure parts', () => {
  void test('long content keeps its head and tail with a note of the cut, within the bound', () => {
    const text = `START ${'x'.repeat(10_000)} END`;
    const sent = cut(text, 500);
    assert.ok(sent.truncated);
    assert.ok(sent.text.length <= 500);
    assert.ok(sent.text.startsWith('START ') && sent.text.endsWith(' END'));
    assert.match(sent.text, /\[… \d+ characters not sent …\]/);
    assert.deepEqual(cut('short', 500), { text: 'short', truncated: false });
    const emoji = cut('😀'.repeat(1_000), 301).text;
    assert.doesNotMatch(
      emoji,
      /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
      'no half pair at a cut',
    );
  });

  void test('a catalog gives its instructions and each definition, keyed by definition hash; subjects filter', () => {
    const pieces = piecesOf(catalog, ['tool-definition', 'server-instructions', 'tool-result'], 4_000);
    assert.deepEqual(
      pieces.map((piece) => [piece.subject, piece.tool, piece.definitionKey?.split('\u0000')[0]]),
      [
        ['server-instructions', undefined, 'instructions'],
        ['tool-definition', 'search', 'tool'],
      ],
    );
    assert.match(pieces[1]!.text, /^Tool: search\nDescription: Searches the web\.\nInput schema: /);
    assert.equal(pieces[1]!.contentHash, contentHash(pieces[1]!.text));
    assert.deepEqual(piecesOf(catalog, ['tool-result'], 4_000), []);
  });

  void test('a verdict event carries its source envelope and validates against the contract', () => {
    const [piece] = piecesOf(catalog, ['tool-definition'], 4_000);
    const event = classificationEventOf(
      'prompt-shields',
      { source: catalog, piece: piece! },
      { attackDetected: true },
      false,
      new Date('2026-03-02T09:00:02.000Z'),
    );
    assert.equal(McpEvent.parse(event).kind, 'classification');
    assert.equal(event.time, catalog.time);
    assert.equal(event.sessionId, 's-1');
    assert.equal(event.sourceEventId, 'catalog-1');
    assert.equal(
      event.eventId,
      classificationEventOf(
        'prompt-shields',
        { source: catalog, piece: piece! },
        { attackDetected: true },
        true,
        new Date(),
      ).eventId,
      'the id depends on what was classified, not on when',
    );
  });

  void test('request rate: at most N starts in any rolling minute', () => {
    const rate = new RequestRate(2);
    assert.equal(rate.take(0), 0);
    assert.equal(rate.take(10), 0);
    assert.equal(rate.take(20), 59_980);
    assert.equal(rate.take(60_000), 0);
    assert.equal(rate.take(60_001), 9);
  });

  void test('character budget per clock hour and per UTC day', () => {
    const budget = new CharacterBudget(100, 150);
    assert.ok(budget.spend(60, 1_000));
    assert.ok(!budget.spend(50, 2_000), 'over the hour');
    assert.ok(budget.spend(40, 3_000));
    assert.ok(budget.spend(50, 3_600_000), 'a new hour');
    assert.ok(!budget.spend(1, 3_600_001), 'over the day');
    assert.ok(budget.spend(100, 86_400_000), 'a new day');
  });

  void test('LRU map forgets the least recently used first', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.get('a');
    map.set('c', 3);
    assert.deepEqual([map.has('a'), map.has('b'), map.has('c')], [true, false, true]);
  });

  void test('configuration: off by default, keys only from the environment, Prompt Shields limits enforced', () => {
    assert.equal(parseDetectorsConfig({}, RULES).classifier, undefined);
    const endpoint = 'https://cs.example.cognitiveservices.azure.com';
    const parsed = parseDetectorsConfig({ classifier: { backend: { type: 'prompt-shields', endpoint } } }, RULES);
    assert.equal(parsed.classifier?.from, 'latest');
    assert.equal(parsed.classifier?.limits.maxContentChars, 4_000);
    assert.throws(
      () =>
        parseDetectorsConfig({ classifier: { backend: { type: 'prompt-shields', endpoint, key: 'secret' } } }, RULES),
      /classifier\.backend/,
    );
    assert.throws(
      () =>
        parseDetectorsConfig(
          { classifier: { backend: { type: 'prompt-shields', endpoint }, limits: { maxContentChars: 12_000 } } },
          RULES,
        ),
      /classifier\.limits\.maxContentChars: Prompt Shields takes at most 10000/,
    );
  });

  void test('detectors with a classifier but no key refuse to start, naming the variable', async () => {
    const transport = new EmbeddedTransport();
    const config = parseDetectorsConfig(
      {
        classifier: {
          backend: { type: 'prompt-shields', endpoint: 'https://cs.example.com', keyEnv: 'MCPWATCH_TEST_NO_SUCH_KEY' },
        },
      },
      RULES,
    );
    await assert.rejects(
      startDetectors({ transport, config, sinks: [], env: {} }),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && /MCPWATCH_TEST_NO_SUCH_KEY/.test(error.message),
    );
    await transport.close();
  });
});
