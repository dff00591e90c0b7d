/** The longest `resourceUri` the contract accepts. */
const MAX_RESOURCE_URI_LENGTH = 2048;

/**
 * A resource URI as the contract carries it: without userinfo, query or fragment (they may carry credentials),
 * and within its length bound. Text that is not a URL keeps what precedes its first `?` or `#`.
 */
export function sanitizeResourceUri(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.href.slice(0, MAX_RESOURCE_URI_LENGTH);
  } catch {
    return (uri.split(/[?#]/, 1)[0] ?? '').slice(0, MAX_RESOURCE_URI_LENGTH);
  }
}
