/**
 * A static check of the construction rule every pattern over attacker-controlled text follows: no quantified
 * group (which is where nested quantifiers and overlapping alternations under `*` live) and no unbounded
 * repetition. A pattern that passes backtracks at most a constant amount per input position, so with input
 * cut to a bound first, matching is linear. Deliberately stricter than needed: it rejects some safe patterns.
 */
export function unsafeConstructs(source: string): string[] {
  const problems: string[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i];
    if (char === '\\') {
      i += 1; // the escaped character is a literal
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') {
      inClass = true;
      continue;
    }
    const next = source[i + 1];
    if (char === '*' || char === '+') {
      problems.push(`unbounded ${char} at ${i}`);
      continue;
    }
    if (char === '{') {
      const counted = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 16));
      if (counted !== null && counted[2] !== undefined && counted[3] === '') problems.push(`unbounded {n,} at ${i}`);
      continue;
    }
    if (char === ')' && next !== undefined) {
      const counted = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i + 1, i + 17));
      const repeats =
        next === '*' ||
        next === '+' ||
        (counted !== null &&
          (counted[2] === undefined ? Number(counted[1]) > 1 : counted[2] === '' || Number(counted[2]) > 1));
      if (repeats) problems.push(`quantified group at ${i}`);
    }
  }
  return problems;
}
