/**
 * Patterns over tool arguments (attacker-controlled). Same construction as `patterns.ts`: no quantified group,
 * every repetition bounded, input cut to `MAX_FIELD_CHARS` by `argumentTexts` first.
 */
/** A shell separator or substitution followed by a command an attacker chains (`; curl …`, `$(wget …)`). */
export const SHELL_CHAIN =
  /(?:;|&&|\|\||\||`|\$\(|\n)\s{0,8}(?:curl|wget|nc|ncat|netcat|bash|sh|zsh|python3?|perl|ruby|php|rm|chmod|chown|base64|powershell|pwsh|iex|certutil|scp|ssh|sudo|eval|exec)\b/i;
export const SUBSTITUTION = /\$\([^)\n]{1,200}\)|`[^`\n]{1,200}`|\$\{[^}\n]{1,100}\}/;
export const TRAVERSAL = /\.\.[/\\]\.\.[/\\]|%2e%2e(?:%2f|%5c|[/\\])|\.\.%2f|%00/i;
export const SENSITIVE_FILE =
  /^(?:\/etc\/(?:passwd|shadow|sudoers|hosts)|\/proc\/self\/|\/root\/|c:\\windows\\system32\\)|[/\\]\.ssh[/\\]|[/\\]\.aws[/\\]credentials|[/\\]\.env$/i;
export const URL_CANDIDATE = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'<>]{1,2048}/gi;

export const ARGUMENT_PATTERNS: readonly RegExp[] = [
  SHELL_CHAIN,
  SUBSTITUTION,
  TRAVERSAL,
  SENSITIVE_FILE,
  URL_CANDIDATE,
];
