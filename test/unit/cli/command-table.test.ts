import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/cli/commands/index.js';

describe('the command table', () => {
  it('loads, for every name, the command of that name, each once in the table', async () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.usage.length).toBeGreaterThan(0);
    }
  }, 60_000); // imports every command module (and their dependencies) cold: slow on a busy machine
});
