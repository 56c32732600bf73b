import { SECRET_HINT, secretWeakness } from './secrets.js';

/**
 * A small reader over an environment map that collects every problem instead of stopping at the
 * first one, so that a bad configuration is reported whole, one line per key.
 */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  problem(key: string, message: string): void {
    this.problems.push({ key, message });
  }

  /** The raw value, trimmed; undefined when unset or blank. */
  raw(key: string): string | undefined {
    const value = this.env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  required(key: string, hint: string): string {
    const value = this.raw(key);
    if (value === undefined) this.problem(key, `missing; expected ${hint}`);
    return value ?? '';
  }

  string(key: string, fallback: string): string {
    return this.raw(key) ?? fallback;
  }

  optional(key: string): string | undefined {
    return this.raw(key);
  }

  url(
    key: string,
    protocols: readonly string[],
    options: { required: boolean; fallback?: string },
  ): URL | undefined {
    const hint = `a ${protocols.map((p) => `${p}//`).join(' or ')} URL`;
    const value = options.required ? this.required(key, hint) : (this.raw(key) ?? options.fallback);
    if (value === undefined || value === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problem(key, `not a valid URL; expected ${hint}`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problem(key, `has protocol "${parsed.protocol}"; expected ${hint}`);
      return undefined;
    }
    if (parsed.hostname === '') {
      this.problem(key, `has no host; expected ${hint}`);
      return undefined;
    }
    return parsed;
  }

  integer(key: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      this.problem(key, `"${value}" is not a whole number; expected ${range.min}..${range.max}`);
      return fallback;
    }
    const n = Number(value);
    if (n < range.min || n > range.max) {
      this.problem(key, `${n} is out of range; expected ${range.min}..${range.max}`);
      return fallback;
    }
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problem(key, `"${value}" is not a boolean; expected true or false`);
    return fallback;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problem(key, `"${value}" is not allowed; expected one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** A secret that may not stay weak (secrets.ts): one problem naming the key, never echoing the value. */
  secret(key: string): string {
    const value = this.required(key, SECRET_HINT);
    const weakness = value === '' ? undefined : secretWeakness(value);
    if (weakness !== undefined) this.problem(key, weakness);
    return value;
  }
}
