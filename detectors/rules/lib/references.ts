/** Specification sections and research the rules cite, in one place so that the catalog stays consistent. */
const SPEC = 'https://modelcontextprotocol.io/specification/2025-06-18';

export const REFERENCES = {
  sessionManagement: `${SPEC}/basic/transports#session-management`,
  sessionHijacking: `${SPEC}/basic/security_best_practices#session-hijacking`,
  tokenPassthrough: `${SPEC}/basic/security_best_practices#token-passthrough`,
  confusedDeputy: `${SPEC}/basic/security_best_practices#confused-deputy-problem`,
  tokenAudience: `${SPEC}/basic/authorization#token-audience-binding-and-validation`,
  accessTokenUsage: `${SPEC}/basic/authorization#access-token-usage`,
  authorization: `${SPEC}/basic/authorization`,
  tools: `${SPEC}/server/tools`,
  toolsListChanged: `${SPEC}/server/tools#list-changed-notification`,
  toolsSecurity: `${SPEC}/server/tools#security-considerations`,
  toolResult: `${SPEC}/server/tools#tool-result`,
  lifecycle: `${SPEC}/basic/lifecycle`,
  owaspMcpTop10: 'https://owasp.org/www-project-mcp-top-10/',
  invariantToolPoisoning: 'https://invariantlabs.ai/blog/mcp-security-notification-tool-poisoning-attacks',
  invariantWhatsapp: 'https://invariantlabs.ai/blog/whatsapp-mcp-exploited',
  invariantGithub: 'https://invariantlabs.ai/blog/mcp-github-vulnerability',
  trailOfBitsLineJumping:
    'https://blog.trailofbits.com/2025/04/21/jumping-the-line-how-mcp-servers-can-attack-you-before-you-ever-use-them/',
  trailOfBitsAnsi: 'https://blog.trailofbits.com/2025/04/29/deceiving-users-with-ansi-terminal-codes-in-mcp/',
  unicodeTags: 'https://embracethered.com/blog/posts/2024/hiding-and-finding-text-with-unicode-tags/',
  owaspSsrf: 'https://owasp.org/www-community/attacks/Server_Side_Request_Forgery',
} as const;
