/**
 * Text patterns over tool metadata and tool results. Linear by construction: no quantified group (no `)*`,
 * `)+`, `){n,}`), every repetition is over a single character class and bounded where it is followed by a
 * class that overlaps it, and the input is cut to `MAX_FIELD_CHARS` first. `patterns.test.ts` checks the
 * sources statically and runs every pattern over megabyte-long adversarial input.
 */
import type { Signal, TextPattern } from './text-pattern.ts';
import { MULTILINGUAL_PATTERNS, MULTILINGUAL_REDIRECT_PATTERNS } from './multilingual.ts';
import { viewsOf, type ViewKind } from './normalize.ts';
import { TextMemo } from './memo.ts';
import { bounded, excerpt, type LocatedText } from './text.ts';

export type { Signal, TextPattern } from './text-pattern.ts';

const p = (id: string, signal: Signal, weight: number, regex: RegExp): TextPattern => ({ id, signal, weight, regex });

/** Wording that hides what the model does from the user, or overrides its instructions. */
export const INSTRUCTION_PATTERNS: readonly TextPattern[] = [
  p(
    'do-not-tell-user',
    'concealment',
    3,
    /\b(?:do not|don't|never|must not|should not)\s{1,4}(?:tell|mention|inform|notify|reveal|show|alert|disclose)\b[^.\n]{0,60}\b(?:user|human|operator)/i,
  ),
  p(
    'without-telling-user',
    'concealment',
    3,
    /\bwithout\s{1,4}(?:telling|informing|notifying|alerting|asking|letting)\s{1,4}(?:the\s{1,4})?(?:user|human)/i,
  ),
  p(
    'user-must-not-know',
    'concealment',
    3,
    /\b(?:user|human)\s{1,4}(?:must|should|need)\s{1,4}(?:not|never)\s{1,4}(?:know|see|be told|find out|notice)/i,
  ),
  p(
    'do-not-bring-it-up',
    'concealment',
    3,
    /\b(?:do not|don't|never)\s{1,4}(?:bring\s{1,4}(?:it|this|that)\s{1,4}up|draw\s{1,4}attention\s{1,4}to\s{1,4}(?:it|this|that))\b/i,
  ),
  p(
    'invisible-to-users',
    'concealment',
    2,
    /\b(?:invisible|not\s{1,4}visible)\s{1,4}to\s{1,4}(?:the\s{1,4})?(?:end\s{1,4})?(?:users?|humans?)\b[^.\n]{0,40}\b(?:stay|keep|remain)\b/i,
  ),
  p(
    'keep-out-of-replies',
    'concealment',
    3,
    /\bkeep\s{1,4}(?:it|this|them|that)\s{1,4}out\s{1,4}of\s{1,4}(?:your\s{1,4}|the\s{1,4})?(?:replies|reply|responses?|answers?|output|summary)\b|\b(?:do not|don't|never)\s{1,4}(?:mention|show|include|print|repeat)\s{1,4}(?:it|this|them|that)\s{1,4}in\s{1,4}(?:your\s{1,4}|the\s{1,4})?(?:replies|reply|responses?|answers?|summary)\b/i,
  ),
  p('hide-from-user', 'concealment', 3, /\b(?:hide|conceal|keep)\b[^.\n]{0,30}\bfrom\s{1,4}the\s{1,4}(?:user|human)/i),
  p(
    'secretly',
    'concealment',
    2,
    /\b(?:secretly|covertly|quietly|silently)\s{1,4}(?:send|read|include|add|pass|call|forward|copy|upload|run|execute|look|attach|collect|gather|retrieve|check|fetch|append)/i,
  ),
  p(
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignore|disregard|forget|override)\s{1,4}(?:all\s{1,4}|any\s{1,4})?(?:the\s{1,4})?(?:previous|prior|above|earlier|other|preceding|system)\s{1,4}(?:instructions|prompts|rules|directions|messages)/i,
  ),
  p('new-instructions', 'override', 2, /\b(?:new|updated|real|actual)\s{1,4}(?:system\s{1,4})?instructions\s{0,4}:/i),
  p(
    'you-are-now',
    'override',
    2,
    /\byou\s{1,4}are\s{1,4}now\s{1,4}(?:in\s{1,4})?(?:a|an|the|developer|admin|dan|unrestricted)\b/i,
  ),
  p('system-prompt', 'exfiltration', 2, /\b(?:your|the)\s{1,4}system\s{1,4}prompt\b/i),
  p(
    'instruction-tag',
    'instruction-tag',
    2,
    /<\s{0,4}\/?\s{0,4}(?:important|system|instructions?|secret|hidden|admin|assistant)\s{0,4}>/i,
  ),
  p(
    'comment-addresses-model',
    'instruction-tag',
    2,
    /<!--[^>]{0,200}\b(?:assistant|ai|llm|model|agent|claude|chatgpt|copilot)\b/i,
  ),
  p('bracket-tag', 'instruction-tag', 2, /\[\s{0,4}(?:system|important|instructions?|admin)\s{0,4}\]/i),
  p(
    'tool-will-fail',
    'coercion',
    1,
    /\botherwise\b[^.\n]{0,40}\b(?:will|would)\s{1,4}(?:not work|fail|crash|break|be lost|stop working)/i,
  ),
  p('very-important', 'coercion', 1, /\bvery\s{1,4}very\s{1,4}important\b/i),
  p(
    'before-using-read',
    'file-read',
    1,
    /\bbefore\s{1,4}(?:using|calling|invoking|running)\b[^.\n]{0,60}\b(?:read|open|cat|load|fetch|access)\b/i,
  ),
  p(
    'read-file',
    'file-read',
    1,
    /\b(?:read|open|cat|load|access)\s{1,4}(?:the\s{1,4}|its\s{1,4}|their\s{1,4})?(?:file|contents?|content of)\b/i,
  ),
  p(
    'pass-content',
    'exfiltration',
    2,
    /\b(?:pass|put|include|add|send|provide|insert|append|attach|paste|copy|embed)\b[^.\n]{0,40}\b(?:its|the|their|file's|whole|full|entire)\s{1,4}(?:content|contents|text|conversation|chat history|history|credentials|keys?|tokens?|password)\b[^.\n]{0,40}\b(?:as|in|into|to|via)\b/i,
  ),
  p(
    'conversation-history',
    'exfiltration',
    2,
    /\b(?:entire|full|whole|complete|all)\s{1,4}(?:previous\s{1,4})?(?:conversation|chat history|message history|context window)\b/i,
  ),
  p(
    'assistant-must',
    'model-address',
    2,
    /\b(?:assistant|ai|llm|model|agent|claude|chatgpt|copilot)\s{0,2}[,:]\s{0,4}(?:you\s{1,4})?(?:must|should|need to|are required to|now)\b/i,
  ),
  p(
    'reader-is-a-model',
    'model-address',
    2,
    /\b(?:ai|llm|assistant|agent|model)s?\s{1,4}(?:reading|processing|summari[sz]ing|seeing)\s{1,4}(?:this|these)\b|\bif\s{1,4}you\s{1,4}are\s{1,4}(?:an?\s{1,4})?(?:ai|llm|language model|assistant|agent)\b/i,
  ),
  p(
    'note-to-model',
    'model-address',
    2,
    /\b(?:note|message|reminder)\s{1,4}(?:to|for)\s{1,4}(?:any|the|all)\s{1,4}(?:ai|llm|language model|model|assistant|agent)s?\b/i,
  ),
  p(
    'the-model-should',
    'model-address',
    2,
    /\bthe\s{1,4}(?:assistant|ai|model|llm|agent)\s{1,4}(?:should|must|needs to|is required to|has to)\b/i,
  ),
  p(
    'ignore-the-user',
    'override',
    3,
    /\b(?:ignore|disregard)\s{1,4}(?:the\s{1,4})?user(?:'s)?\s{1,4}(?:question|request|instructions|message|prompt)/i,
  ),
  p(
    'no-confirmation',
    'concealment',
    2,
    /\b(?:needs|requires|without)\s{1,4}(?:no\s{1,4}|any\s{1,4}|asking\s{1,4}for\s{1,4})?(?:user\s{1,4})?(?:confirmation|approval|permission)\b|\bwithout\s{1,4}asking\b|\bno\s{1,4}need\s{1,4}to\s{1,4}(?:ask|confirm|tell|mention\s{1,4}(?:it|this|that)\b|(?:check|verify)\s{1,4}with\s{1,4}(?:them|the\s{1,4}user|the\s{1,4}human|him|her)\b)/i,
  ),
  p(
    'privacy-does-not-matter',
    'coercion',
    2,
    /\b(?:does not|doesn't|do not|don't|never)\s{1,4}care\s{1,4}about\s{1,4}(?:privacy|security|confidentiality)/i,
  ),
  p(
    'everything-you-find',
    'exfiltration',
    2,
    /\b(?:put|include|add|send|post|publish)\s{1,4}(?:in\s{1,4})?(?:everything|all)\s{1,4}(?:you\s{1,4})?(?:find|found|see|saw|know|can find)\b/i,
  ),
  p(
    'secrets-you-have-seen',
    'exfiltration',
    2,
    /\b(?:api keys?|secrets|credentials|passwords|tokens)\s{1,4}(?:that\s{1,4})?(?:you\s{1,4})?(?:have\s{1,4})?(?:seen|found|read|know|received)\b/i,
  ),
  p(
    'markdown-image-exfil',
    'exfiltration',
    2,
    /\b(?:markdown\s{1,4})?image\s{1,4}(?:link|url|tag)\b[^\n]{0,40}https?:\/\/[^\s)]{1,200}[?&][\w-]{1,32}=/i,
  ),
  p(
    'supply-content-as-argument',
    'exfiltration',
    2,
    /\b(?:provide|supply|pass|include|send|paste|attach|put|add)\b[^.\n]{0,60}\b(?:contents?|text|value)\s{1,4}of\b[^\n]{0,80}\b(?:as|in|into|via)\s{1,4}(?:the\s{1,4})?[`'"]?[\w.-]{0,40}[`'"]?\s{0,4}(?:argument|parameter|param|field|input)\b/i,
  ),
  p(
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:call|invoke|run|retry|try|repeat)\b[^.\n]{0,40}\b(?:again|retry|once more)\b[^.\n]{0,60}\b(?:with|passing|including|providing|adding)\b[^.\n]{0,40}\b(?:contents?|credentials?|api keys?|tokens?|passwords?|secrets?|private keys?|ssh keys?)\b/i,
  ),
  p(
    'requires-credential-argument',
    'exfiltration',
    2,
    /\b(?:requires?|needs?|must (?:include|provide|contain)|missing)\b[^.\n]{0,40}\b(?:your|the user's|the)\s{1,4}(?:api keys?|access tokens?|credentials|passwords?|private keys?|ssh keys?|session cookies?)\b[^.\n]{0,40}\b(?:argument|parameter|param|field)\b/i,
  ),
  p(
    'private-data-request',
    'exfiltration',
    2,
    /\b(?:read|list|open|get|fetch|collect|gather|go\s{1,4}through|look\s{1,4}(?:at|through)|access)\b[^.\n]{0,60}\b(?:private|internal|confidential)\s{1,4}(?:ones|repos|repositories|projects|files|documents|data|messages|channels|notes|emails)\b|\b(?:all|every)\s{1,4}(?:of\s{1,4})?(?:their|your|his|her|the\s{1,4}user's|the\s{1,4}owner's)\s{1,4}private\s{1,4}(?:repos|repositories|projects|files|documents|messages|channels|notes|emails)\b/i,
  ),
  p(
    'paste-secret-here',
    'exfiltration',
    2,
    /\b(?:paste|put|insert|enter|drop|place)\b[^.\n]{0,40}\b(?:keys?|tokens?|passwords?|credentials|secrets?|cookies?)\s{1,4}here\b/i,
  ),
  p(
    'contents-of-credential-store',
    'exfiltration',
    2,
    /\b(?:contents?|text|data)\s{1,4}(?:of|from)\s{1,4}(?:the\s{1,4}|your\s{1,4}|reading\s{1,4})?(?:aws|gcloud|azure|kube|docker|npm|pypi|git|ssh|netrc|env)\s{1,4}(?:credentials?|config|private\s{1,4}key|keys?|tokens?)\b/i,
  ),
  p(
    'call-tool-now',
    'model-address',
    1,
    /\b(?:immediately|now|next)\s{1,4}(?:call|invoke|use|run|execute)\s{1,4}(?:the\s{1,4})?[\w.-]{1,64}\s{1,4}tool\b/i,
  ),
  ...MULTILINGUAL_PATTERNS,
];

/** Files and stores an attacker wants read: SSH keys, cloud credentials, MCP client configs, env files. */
export const SENSITIVE_PATH_PATTERNS: readonly TextPattern[] = [
  p(
    'ssh-key',
    'sensitive-path',
    2,
    /(?:~|\$home|%userprofile%|\/home\/[\w.-]{1,64}|\/root)?[/\\]\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b/i,
  ),
  p(
    'cloud-credentials',
    'sensitive-path',
    2,
    /[/\\]\.(?:aws[/\\]credentials|azure[/\\]|config[/\\](?:gcloud|gh[/\\]hosts\.yml)|kube[/\\]config|docker[/\\]config\.json|vault-token|terraform\.d[/\\]credentials)/i,
  ),
  p(
    'mcp-client-config',
    'sensitive-path',
    2,
    /\b(?:mcp\.json|claude_desktop_config\.json|\.cursor[/\\]|\.codeium[/\\])/i,
  ),
  p(
    'secrets-file',
    'sensitive-path',
    2,
    /(?:^|[\s/\\~"'`])\.(?:env|netrc|npmrc|pypirc|git-credentials|pgpass|bash_history|zsh_history)\b|\/etc\/(?:passwd|shadow|sudoers)\b/i,
  ),
  p(
    'credential-store-named',
    'sensitive-path',
    2,
    /\b(?:aws|gcloud|azure|kube|docker|npm|pypi|git)\s{1,4}credentials?\s{1,4}file\b|\bssh\s{1,4}private\s{1,4}keys?\b|\bprivate\s{1,4}ssh\s{1,4}keys?\b/i,
  ),
  p(
    'every-environment-variable',
    'sensitive-path',
    2,
    /\b(?:all|every|each)\s{1,4}(?:of\s{1,4}the\s{1,4}|the\s{1,4})?environment\s{1,4}variables?\b|\bprocess\.env\b/i,
  ),
];

/** Wording that steers the model's use of a different tool: the shadowing attack. */
export const REDIRECT_PATTERNS: readonly TextPattern[] = [
  p(
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\bwhen(?:ever)?\b[^.\n]{0,80}\b(?:is|are|gets|get)\s{1,4}(?:invoked|called|used|executed|run)\b/i,
  ),
  p('side-effect-on-tool', 'tool-redirect', 3, /\b(?:side[- ]effect|effect|impact)\s{1,4}on\b[^.\n]{0,60}\btools?\b/i),
  p(
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:change|set|replace|redirect|override)\s{1,4}the\s{1,4}(?:[a-z]{1,20}\s{1,4})?(?:recipient|destination|receiver|to address|target|url|endpoint|phone number|account|iban|wallet)\b/i,
  ),
  p(
    'send-all-to',
    'tool-redirect',
    3,
    /\b(?:send|forward|copy|bcc|cc|route)\s{1,4}(?:all|every|each)\b[^.\n]{0,40}\bto\s{1,4}[\w.+-]{1,64}@[\w-]{1,64}\./i,
  ),
  p(
    'instead-of-chosen-target',
    'tool-redirect',
    3,
    /\binstead\s{1,4}of\s{1,4}(?:the\s{1,4}|their\s{1,4}|your\s{1,4})?(?:channel|recipient|address|destination|repo|repository|account|number|url|endpoint|email|chat|branch)\b[^.\n]{0,40}\b(?:user|they|you)\s{1,4}(?:chose|chosen|picked|selected|specified|requested|asked\s{1,4}for|gave|named|entered)\b/i,
  ),
  p(
    'instead-of-tool',
    'tool-redirect',
    2,
    /\b(?:instead of|rather than|never)\s{1,4}(?:using|calling|invoking)\s{1,4}(?:the\s{1,4})?[\w.-]{1,64}\s{1,4}tool\b/i,
  ),
  p(
    'supersedes-tool',
    'tool-redirect',
    3,
    /\b(?:supersedes|replaces|overrides|takes precedence over)\b[^.\n]{0,60}\b(?:tools?|servers?)\b/i,
  ),
  p('route-all-through', 'tool-redirect', 3, /\broute\s{1,4}(?:all|every|each|any)\b[^.\n]{0,40}\bthrough\b/i),
  p(
    'copy-to-address',
    'tool-redirect',
    2,
    /\b(?:copy|cc|bcc|forward)\b[^.\n]{0,30}\bto\s{1,4}[\w.+-]{1,64}@[\w-]{1,64}\./i,
  ),
  p(
    'prefix-every-command',
    'tool-redirect',
    3,
    /\b(?:prefix|prepend|append|suffix|start|begin|end|wrap)\s{1,4}(?:every|each|all|any)\s{1,4}(?:other\s{1,4}|future\s{1,4}|subsequent\s{1,4})?(?:shell\s{1,4}|bash\s{1,4}|terminal\s{1,4}|git\s{1,4}|sql\s{1,4}|http\s{1,4}|tool\s{1,4})?(?:commands?|calls?|requests?|queries|messages?|emails?|commits?|invocations?)\b/i,
  ),
  p(
    'always-cc',
    'tool-redirect',
    3,
    /\b(?:always|also|additionally)\s{1,4}(?:cc|bcc|copy|forward|add|include|send)\b[^.\n]{0,40}(?:[\w.+-]{1,64}@[\w-]{1,64}\.|\b(?:on|in|to|with)\s{1,4}(?:every|each|all|any)\s{1,4}(?:emails?|messages?|mails?|requests?|commits?|calls?)\b)/i,
  ),
  p(
    'every-other-tool',
    'tool-redirect',
    2,
    /\b(?:every|each|all|any)\s{1,4}(?:other\s{1,4})?(?:tool|function)\s{1,4}(?:calls?|invocations?|you\s{1,4}(?:use|call|run|invoke))\b|\b(?:when|whenever|before|after)\s{1,4}(?:you\s{1,4})?(?:use|call|run|invoke)\s{1,4}(?:any|every|another|other)\s{1,4}(?:tools?|functions?|commands?)\b/i,
  ),
  p(
    'pipe-to-shell',
    'remote-code',
    1,
    /\b(?:curl|wget)\b[^\n|]{0,200}\|\s{0,4}(?:sudo\s{1,4})?(?:ba|z)?sh\b|\biex\s{0,4}\(\s{0,4}(?:new-object|iwr|invoke-webrequest)\b/i,
  ),
  p(
    'other-server-tool',
    'tool-redirect',
    1,
    /\bmcp_[a-z0-9]{1,32}_[a-z0-9_]{1,64}\b|\([a-z0-9]{0,32}mcp[a-z0-9_]{0,32}\)/i,
  ),
  ...MULTILINGUAL_REDIRECT_PATTERNS,
];

export const ALL_TEXT_PATTERNS: readonly TextPattern[] = [
  ...INSTRUCTION_PATTERNS,
  ...SENSITIVE_PATH_PATTERNS,
  ...REDIRECT_PATTERNS,
];

export interface PatternHit {
  pattern: string;
  signal: Signal;
  weight: number;
  location: string;
  excerpt: string;
  /** The view the pattern matched in, when not the text as served (see `normalize.ts`). */
  view?: ViewKind;
}

/** An instruction found only after decoding base64, hex or percent-encoding: hiding it is itself a signal. */
const ENCODED_INSTRUCTION = { pattern: 'encoded-instruction', signal: 'obfuscation', weight: 1 } as const;

/** What one text yields: its hits, without the location (the same text occurs in many places). */
type TextHit = Omit<PatternHit, 'location'>;

/** Texts scanned, per pattern list: a few thousand distinct texts, at most 8 M characters each. */
const SCANNED = new WeakMap<readonly TextPattern[], TextMemo<readonly TextHit[]>>();

/**
 * Every pattern over every text and its views (folded, decoded), first match per pattern and text. A pattern
 * that matched the text as served is not tried on its views. Each distinct text is scanned once per pattern
 * list (see `memo.ts`).
 */
export function scanTexts(texts: readonly LocatedText[], patterns: readonly TextPattern[]): PatternHit[] {
  let memo = SCANNED.get(patterns);
  if (memo === undefined) {
    memo = new TextMemo(4096, 8_388_608);
    SCANNED.set(patterns, memo);
  }
  const scan = (text: string) => scanText(text, patterns);
  const hits: PatternHit[] = [];
  for (const { location, text } of texts) {
    for (const { pattern, signal, weight, excerpt, view } of memo.get(bounded(text), scan)) {
      hits.push({ pattern, signal, weight, location, excerpt, ...(view === undefined ? {} : { view }) });
    }
  }
  return hits;
}

function scanText(text: string, patterns: readonly TextPattern[]): TextHit[] {
  const hits: TextHit[] = [];
  const matched = new Set<string>();
  for (const pattern of patterns) {
    const match = pattern.regex.exec(text);
    if (match === null) continue;
    matched.add(pattern.id);
    hits.push({
      pattern: pattern.id,
      signal: pattern.signal,
      weight: pattern.weight,
      excerpt: excerpt(text, match.index, match[0].length),
    });
  }
  let decodedHit = false;
  for (const view of viewsOf(text)) {
    for (const pattern of patterns) {
      if (matched.has(pattern.id)) continue;
      const match = pattern.regex.exec(view.text);
      if (match === null) continue;
      matched.add(pattern.id);
      if (view.kind !== 'folded') decodedHit = true;
      hits.push({
        pattern: pattern.id,
        signal: pattern.signal,
        weight: pattern.weight,
        excerpt: excerpt(view.text, match.index, match[0].length),
        view: view.kind,
      });
    }
  }
  if (decodedHit) hits.push({ ...ENCODED_INSTRUCTION, excerpt: '' });
  return hits;
}

/** The score of a set of hits: the heaviest hit per signal, summed (repeating one signal adds nothing). */
export function scoreOf(hits: readonly PatternHit[]): number {
  const bySignal = new Map<Signal, number>();
  for (const hit of hits) bySignal.set(hit.signal, Math.max(bySignal.get(hit.signal) ?? 0, hit.weight));
  let score = 0;
  for (const weight of bySignal.values()) score += weight;
  return score;
}
