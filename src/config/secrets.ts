/**
 * When a secret is too weak to start with (SIGNING_SECRET, its retired keys, PSEUDONYM_SECRET). A
 * secret is only as strong as the way it was made, which a process cannot see; what it can see are
 * the ways people get it wrong: a placeholder copied from .env.example, a word repeated, a run of
 * the keyboard, a short string from a small alphabet. The rule (also in .env.example):
 *
 * 1. at least 32 characters;
 * 2. not a placeholder: nothing containing "change-me" (every secret in .env.example carries it, so
 *    a copied example never starts);
 * 3. not a pattern: neither its characters nor the steps between neighbours repeat with a period of
 *    at most half its length, and no one step makes half of them (`aaaa…`, `abab…`, `abcd…`,
 *    `0123456789` twice, `Password1Password1…`);
 * 4. at least 8 different characters (5 when it is only digits);
 * 5. at least 128 bits estimated: length × log2 of the smallest usual alphabet that holds all its
 *    characters — digits 10, hex 16, letters of one case 26, one case and digits 36, letters 52,
 *    letters and digits 62, base64url 64, base64 65, printable ASCII 95 (anything else: 95). So 32 hex
 *    digits pass, and digits alone need 39.
 *
 * `openssl rand -base64 32` and `openssl rand -hex 32` pass; a random secret of these lengths fails
 * rules 3 and 4 with a probability below one in a billion.
 */

export const SECRET_MIN_LENGTH = 32;
export const SECRET_MIN_BITS = 128;
const MIN_DISTINCT = 8;

const ALPHABETS: readonly { readonly size: number; readonly pattern: RegExp }[] = [
  { size: 10, pattern: /^[0-9]*$/ },
  { size: 16, pattern: /^(?:[0-9a-f]*|[0-9A-F]*)$/ },
  { size: 26, pattern: /^(?:[a-z]*|[A-Z]*)$/ },
  { size: 36, pattern: /^(?:[a-z0-9]*|[A-Z0-9]*)$/ },
  { size: 52, pattern: /^[A-Za-z]*$/ },
  { size: 62, pattern: /^[A-Za-z0-9]*$/ },
  { size: 64, pattern: /^[A-Za-z0-9_-]*$/ },
  { size: 65, pattern: /^[A-Za-z0-9+/=]*$/ },
];
const PRINTABLE = 95;

/** The size of the smallest usual alphabet that holds every character of `value`. */
export function alphabetSize(value: string): number {
  return ALPHABETS.find((a) => a.pattern.test(value))?.size ?? PRINTABLE;
}

/** Estimated bits: length × log2(alphabet), as if every character were drawn at random from it. */
export function estimatedBits(value: string): number {
  return [...value].length * Math.log2(alphabetSize(value));
}

/** Whether `items` repeats with some period of at most half its length. */
function periodic(items: readonly number[]): boolean {
  for (let period = 1; period * 2 <= items.length; period++) {
    let repeats = true;
    for (let i = period; i < items.length && repeats; i++) repeats = items[i] === items[i - period];
    if (repeats) return true;
  }
  return false;
}

/** Whether one step between neighbouring characters makes up half of the steps or more. */
function oneStep(steps: readonly number[]): boolean {
  const counts = new Map<number, number>();
  for (const step of steps) counts.set(step, (counts.get(step) ?? 0) + 1);
  return Math.max(0, ...counts.values()) * 2 >= steps.length;
}

/**
 * Why `value` may not be used as a secret, or undefined when it may. The reason never contains the
 * value, nor any part of it.
 */
export function secretWeakness(value: string): string | undefined {
  const chars = [...value];
  if (chars.length < SECRET_MIN_LENGTH) {
    return `is too short (${chars.length} characters); expected at least ${SECRET_MIN_LENGTH}`;
  }
  if (/change-?me/i.test(value)) {
    return 'is a placeholder (it contains "change-me", as the values in .env.example do)';
  }
  const codes = chars.map((c) => c.codePointAt(0) ?? 0);
  const steps = codes.slice(1).map((code, i) => code - (codes[i] ?? 0));
  if (periodic(codes) || periodic(steps) || oneStep(steps)) {
    return 'is a pattern (a character, a string or a run of characters repeated)';
  }
  const alphabet = alphabetSize(value);
  const distinct = new Set(chars).size;
  const needed = Math.min(MIN_DISTINCT, alphabet / 2);
  if (distinct < needed) {
    return `has only ${distinct} different characters; expected at least ${needed}`;
  }
  const bits = estimatedBits(value);
  if (bits < SECRET_MIN_BITS) {
    return `is too guessable: ${chars.length} characters from an alphabet of ${alphabet} are about ${Math.floor(bits)} bits; expected at least ${SECRET_MIN_BITS} (e.g. 32 hex digits, or 39 decimal ones)`;
  }
  return undefined;
}

/** How to make one, for the "missing" message. */
export const SECRET_HINT = 'a random secret of at least 32 characters, e.g. from `openssl rand -base64 32`';
