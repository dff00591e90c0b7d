/**
 * The one bounded wait of the tests: polls `probe` until it returns a value other than `undefined` or `false`,
 * and returns that value; fails naming `what` after `timeoutMs`. A wait for something asynchronous, not a
 * timing assertion: the bound only keeps a broken test from hanging. `intervalMs` spaces probes that cost a
 * round trip (reading a topic, asking the broker).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
