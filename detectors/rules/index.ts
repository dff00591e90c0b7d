/** The detections catalog: every rule mcpwatch ships, in the order the docs list them. */
import type { Rule } from '../types.ts';
import { abnormalToolDefinition } from './abnormal-tool-definition.ts';
import { callRateAnomaly } from './call-rate-anomaly.ts';
import { clientIdentityChange } from './client-identity-change.ts';
import { commandInjectionArgs } from './command-injection-args.ts';
import { expiredTokenAccepted } from './expired-token-accepted.ts';
import { elicitationCredentialRequest } from './elicitation-credential-request.ts';
import { headerBodyMismatch } from './header-body-mismatch.ts';
import { hiddenUnicode } from './hidden-unicode.ts';
import { insufficientScope } from './insufficient-scope.ts';
import { promptAttackClassified } from './prompt-attack-classified.ts';
import { promptInjectionInToolResult } from './prompt-injection-in-tool-result.ts';
import { secretInToolIo } from './secret-in-tool-io.ts';
import { sessionClientChange } from './session-client-change.ts';
import { sessionReuseAcrossUsers } from './session-reuse-across-users.ts';
import { shadowServer } from './shadow-server.ts';
import { tokenAudienceMismatch } from './token-audience-mismatch.ts';
import { tokenPassthrough } from './token-passthrough.ts';
import { toolDefinitionDrift } from './tool-definition-drift.ts';
import { toolListVariance } from './tool-list-variance.ts';
import { toolPoisoning } from './tool-poisoning.ts';
import { toolShadowing } from './tool-shadowing.ts';
import { toxicFlow } from './toxic-flow.ts';
import { unauthenticatedAccess } from './unauthenticated-access.ts';
import { weakSessionId } from './weak-session-id.ts';

export const RULES: readonly Rule<unknown, unknown>[] = [
  erased(sessionReuseAcrossUsers),
  erased(sessionClientChange),
  erased(weakSessionId),
  erased(tokenAudienceMismatch),
  erased(tokenPassthrough),
  erased(expiredTokenAccepted),
  erased(unauthenticatedAccess),
  erased(insufficientScope),
  erased(toolDefinitionDrift),
  erased(toolPoisoning),
  erased(toolShadowing),
  erased(hiddenUnicode),
  erased(abnormalToolDefinition),
  erased(promptInjectionInToolResult),
  erased(secretInToolIo),
  erased(commandInjectionArgs),
  erased(shadowServer),
  erased(callRateAnomaly),
  erased(toxicFlow),
  erased(headerBodyMismatch),
  erased(clientIdentityChange),
  erased(toolListVariance),
  erased(elicitationCredentialRequest),
  erased(promptAttackClassified),
];

/** The engine holds rules of any state and config type; each rule only ever sees its own. */
function erased<State, Config>(rule: Rule<State, Config>): Rule<unknown, unknown> {
  return rule;
}

/** Rule ids whose input is content (tool metadata, arguments, results) rather than identity or volume. */
export const CONTENT_RULE_IDS: readonly string[] = [
  'tool-definition-drift',
  'tool-poisoning',
  'tool-shadowing',
  'hidden-unicode',
  'prompt-injection-in-tool-result',
  'secret-in-tool-io',
  'command-injection-args',
];

/** Every rule enabled with its default configuration. */
export function defaultEnabledRules(
  overrides: Readonly<Record<string, unknown>> = {},
): { rule: Rule<unknown, unknown>; config: unknown }[] {
  return RULES.map((rule) => ({ rule, config: rule.configSchema.parse(overrides[rule.meta.id] ?? {}) }));
}
