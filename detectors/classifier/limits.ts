/**
 * The stage's bounds on what it asks of a backend: requests per rolling minute and characters per clock hour
 * and UTC day. The clock is passed in, so the bounds are tested without waiting.
 */

/** At most `perMinute` starts in any 60 s window. */
export class RequestRate {
  private readonly starts: number[] = [];

  constructor(private readonly perMinute: number) {}

  /** Records a start at `now` and returns 0, or returns how long (ms) until a start is allowed. */
  take(now: number): number {
    while (this.starts.length > 0 && this.starts[0]! <= now - 60_000) this.starts.shift();
    if (this.starts.length < this.perMinute) {
      this.starts.push(now);
      return 0;
    }
    return this.starts[0]! + 60_000 - now;
  }
}

/** Characters per clock hour and per UTC day: what a backend that bills by text length costs at most. */
export class CharacterBudget {
  private hour = { start: -1, used: 0 };
  private day = { start: -1, used: 0 };

  constructor(
    private readonly perHour: number,
    private readonly perDay: number,
  ) {}

  /** Spends `chars` at `now` when both windows have room, and says whether it did. */
  spend(chars: number, now: number): boolean {
    const hourStart = now - (now % 3_600_000);
    const dayStart = now - (now % 86_400_000);
    if (this.hour.start !== hourStart) this.hour = { start: hourStart, used: 0 };
    if (this.day.start !== dayStart) this.day = { start: dayStart, used: 0 };
    if (this.hour.used + chars > this.perHour || this.day.used + chars > this.perDay) return false;
    this.hour.used += chars;
    this.day.used += chars;
    return true;
  }

  get spentThisHour(): number {
    return this.hour.used;
  }

  get spentToday(): number {
    return this.day.used;
  }
}

/** A bounded map that forgets the least recently used entry first. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  get size(): number {
    return this.entries.size;
  }
}
