/**
 * A bounded memo of a pure function of a text. Content repeats (every session lists its server's catalog, a
 * deployment calls few distinct tools), so the work is done once per distinct text and the memo changes no
 * result. Least recently used texts go first once it holds `maxEntries` texts or `maxChars` characters.
 */
export class TextMemo<Value> {
  private readonly values = new Map<string, Value>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(text: string, compute: (text: string) => Value): Value {
    const values = this.values;
    if (values.has(text)) {
      const value = values.get(text)!;
      values.delete(text); // re-insert: Map order doubles as least-recently-used order
      values.set(text, value);
      return value;
    }
    const value = compute(text);
    values.set(text, value);
    this.chars += text.length;
    while (values.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = values.keys().next().value as string;
      values.delete(oldest);
      this.chars -= oldest.length;
    }
    return value;
  }
}
