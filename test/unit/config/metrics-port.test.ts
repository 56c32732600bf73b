import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { exampleEnv } from '../../support/service-env.js';

describe('METRICS_PORT', () => {
  const load = (value: string | undefined) => loadConfig({ ...exampleEnv(), METRICS_PORT: value });

  it('is off when empty or unset, as in .env.example', () => {
    for (const value of [undefined, '', '  ']) {
      const result = load(value);
      expect(result.ok && result.config.metrics.port).toBeUndefined();
    }
  });

  it('is a port when set, and a named problem when it is not one', () => {
    const ok = load('9464');
    expect(ok.ok && ok.config.metrics.port).toBe(9464);
    for (const value of ['metrics', '0', '70000']) {
      const refused = load(value);
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.problems.map((p) => p.key)).toEqual(['METRICS_PORT']);
    }
  });
});
