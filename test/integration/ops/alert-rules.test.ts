import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { promtool } from '../../support/promtool.js';
import { ROOT } from '../../support/service-env.js';

const DIR = `${ROOT}ops/prometheus`;
const RULES = 'consentcast-alerts.yml';
const TESTS = 'consentcast-alerts.test.yml';

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Each alerting rule's name with its YAML text (the lines up to the next rule). */
function rulesOf(yaml: string): { name: string; text: string }[] {
  return yaml
    .split(/^\s*- alert: /m)
    .slice(1)
    .map((chunk) => ({ name: chunk.split('\n')[0]?.trim() ?? '', text: chunk }));
}

describe('ops: the Prometheus alerting rules', () => {
  it('pass `promtool check rules`', async () => {
    const check = await promtool(['check', 'rules', RULES], { cwd: DIR });
    expect(check.code, check.output).toBe(0);
    expect(check.output).toMatch(/SUCCESS: 7 rules found/);
    expect(check.output).not.toMatch(/WARNING/i);
  });

  it('pass their unit tests (`promtool test rules`)', async () => {
    const run = await promtool(['test', 'rules', TESTS], { cwd: DIR });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/SUCCESS/);
  });

  it('each has a `for:`, a severity, a summary and a runbook section in docs/operations.md', async () => {
    const rules = rulesOf(await readFile(`${DIR}/${RULES}`, 'utf8'));
    expect(rules.map((r) => r.name).sort()).toEqual([
      'ConsentcastEmergencyStopOpen',
      'ConsentcastIndeterminateUnresolved',
      'ConsentcastMessagesOnExpiredLease',
      'ConsentcastMetricsSourceDown',
      'ConsentcastProviderRefusing',
      'ConsentcastRoleDown',
      'ConsentcastSendBacklog',
    ]);
    const docs = await readFile(`${ROOT}docs/operations.md`, 'utf8');
    const anchors = new Set([...docs.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
    for (const rule of rules) {
      expect(rule.text, rule.name).toMatch(/^\s+for: [1-9]\d*m$/m);
      expect(rule.text, rule.name).toMatch(/^\s+severity: (critical|warning)$/m);
      expect(rule.text, rule.name).toMatch(/^\s+summary: "[^"]+"$/m);
      const runbook = /^\s+runbook_url: docs\/operations\.md#(\S+)$/m.exec(rule.text)?.[1];
      expect(runbook, rule.name).toBe(rule.name.toLowerCase());
      expect(anchors, `docs/operations.md has no section ${rule.name}`).toContain(runbook);
    }
  });

  it('each is tested both firing and not firing', async () => {
    const rules = rulesOf(await readFile(`${DIR}/${RULES}`, 'utf8'));
    const tests = await readFile(`${DIR}/${TESTS}`, 'utf8');
    const cases = [...tests.matchAll(/- eval_time: \S+\n\s+alertname: (\w+)\n\s+exp_alerts:(.*)$/gm)].map(
      (m) => ({ alert: m[1], fires: (m[2] ?? '').trim() !== '[]' }),
    );
    for (const rule of rules) {
      expect(cases, `${rule.name} firing`).toContainEqual({ alert: rule.name, fires: true });
      expect(cases, `${rule.name} not firing`).toContainEqual({ alert: rule.name, fires: false });
    }
  });
});
