/*
 * Event times as the contract writes them (`Date.prototype.toISOString`, UTC, milliseconds), made without a
 * `Date` per event: V8 formats and parses dates through its time-zone machinery, a few microseconds each, and
 * every request needs one formatted time and its log record's timestamp. The date part is computed once per
 * day; the rest is arithmetic. Output is identical to `toISOString` for every time.
 */

const DAY_MS = 86_400_000;

let cachedDay = Number.NaN;
/** `YYYY-MM-DDT` of `cachedDay` (`±YYYYYY-MM-DDT` beyond years 0 to 9999). */
let cachedDate = '';

const pad2 = (value: number): string => (value < 10 ? `0${value}` : String(value));
const pad3 = (value: number): string => (value < 10 ? `00${value}` : value < 100 ? `0${value}` : String(value));

function datePart(day: number): string {
  if (day !== cachedDay) {
    cachedDay = day;
    const midnight = new Date(day * DAY_MS).toISOString();
    cachedDate = midnight.slice(0, midnight.indexOf('T') + 1);
  }
  return cachedDate;
}

/** `new Date(epochMs).toISOString()`. */
export function isoTime(epochMs: number): string {
  const ms = Math.trunc(epochMs);
  const day = Math.floor(ms / DAY_MS);
  const inDay = ms - day * DAY_MS;
  const seconds = Math.floor(inDay / 1000);
  return `${datePart(day)}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}.${pad3(inDay % 1000)}Z`;
}

/** The current time, as `new Date().toISOString()`. */
export function isoNow(): string {
  return isoTime(Date.now());
}

const digits = (text: string, from: number, count: number): number => {
  let value = 0;
  for (let index = from; index < from + count; index++) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
};

/**
 * Epoch milliseconds of an `isoTime` of this process (arithmetic when its date is the cached one), else of any
 * date string `Date.parse` reads.
 */
export function epochMsOf(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || !iso.startsWith(cachedDate)) return Date.parse(iso);
  const inDay =
    digits(iso, 11, 2) * 3_600_000 + digits(iso, 14, 2) * 60_000 + digits(iso, 17, 2) * 1000 + digits(iso, 20, 3);
  return Number.isNaN(inDay) ? Date.parse(iso) : cachedDay * DAY_MS + inDay;
}
