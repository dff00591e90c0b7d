/**
 * A bounded memo of a pure function of a text. Content repeats (every session lists its server's catalog, a
 * deployment calls few distinct tools), so the work is done once per distinct text and the memo changes no
 * result. Two generations: a text found in the older one moves to the newer, and when the newer holds half the
 * bound (`maxEntries` texts or `maxChars` characters) it becomes the older and the older is dropped, so what is
 * in use stays and a hit costs one lookup.
 */
export class TextMemo<Value extends object> {
  private recent = new Map<string, Value>();
  private older = new Map<string, Value>();
  private recentChars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(text: string, compute: (text: string) => Value): Value {
    let value = this.recent.get(text);
    if (value !== undefined) return value;
    value = this.older.get(text) ?? compute(text);
    this.recent.set(text, value);
    this.recentChars += text.length;
    if (this.recent.size >= this.maxEntries / 2 || this.recentChars >= this.maxChars / 2) {
      this.older = this.recent;
      this.recent = new Map();
      this.recentChars = 0;
    }
    return value;
  }
}
