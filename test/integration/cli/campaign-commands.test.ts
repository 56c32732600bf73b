import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runConsentcast } from '../../support/cli.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { testRedisPrefix } from '../../support/test-redis.js';

describe('consentcast campaign and emergency-stop', () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  const redis = testRedisPrefix();
  beforeAll(async () => {
    t = await createTestDatabase();
    env = {
      ...exampleEnv(),
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: redis.prefix,
    };
  });
  afterAll(async () => {
    await redis.clean();
    await t.drop();
  });
  const cc = (...args: string[]) => runConsentcast(args, env, 60_000);

  it('create, four-eyes approve, schedule, status, pause, resume, cancel; clear errors and exit codes', async () => {
    const created = await cc(
      'campaign',
      'create',
      '--name',
      'autumn',
      '--purpose',
      'service_offers',
      '--channel',
      'email',
      '--channel',
      'sms',
      '--actor',
      'anna',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    const id = String((JSON.parse(created.stdout) as { campaign: { id: number } }).campaign.id);

    const bad = await cc('campaign', 'create', '--name', 'x', '--purpose', 'spam', '--actor', 'anna');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('purpose');
    expect(bad.stderr).toContain('channels');

    expect((await cc('campaign', 'submit', id, '--actor', 'anna')).code).toBe(0);
    const self = await cc('campaign', 'approve', id, '--actor', 'anna');
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('four-eyes');
    expect((await cc('campaign', 'approve', id, '--actor', 'bert')).code).toBe(0);

    const badCron = await cc('campaign', 'schedule', id, '--cron', 'every day', '--actor', 'anna');
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain('schedule/cron');
    expect((await cc('campaign', 'schedule', id, '--every', '3600', '--actor', 'anna')).code).toBe(0);
    const status = await cc('campaign', 'status', id, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      campaign: {
        status: 'scheduled',
        schedule: { kind: 'every', every_seconds: 3600 },
        approved_by: 'bert',
      },
    });

    expect((await cc('campaign', 'pause', id, '--actor', 'anna')).code).toBe(0);
    const illegal = await cc('campaign', 'pause', id, '--actor', 'anna');
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toContain('it is paused');
    expect((await cc('campaign', 'resume', id, '--actor', 'anna')).stdout).toContain('scheduled');
    const cancelled = await cc(
      'campaign',
      'cancel',
      id,
      '--reason',
      'season over',
      '--actor',
      'anna',
      '--json',
    );
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ campaign: { status: 'cancelled' }, skipped: 0 });
    expect((await cc('campaign', 'status', '999999')).code).toBe(1);

    const stop = await cc('emergency-stop', '--reason', 'drill', '--actor', 'olga', '--json');
    expect(JSON.parse(stop.stdout)).toMatchObject({
      stopped: true,
      queues_paused: { email: true, sms: true, push: true },
    });
    const resume = await cc('emergency-stop', '--resume', '--actor', 'olga');
    expect(resume.code).toBe(0);
    expect(resume.stdout).toContain('running on every channel');
    const audited = await t.db
      .selectFrom('audit_log')
      .select(['action', 'actor_id', 'actor_type'])
      .where('action', 'in', ['campaign.approve', 'ops.emergency_stop', 'ops.emergency_resume'])
      .orderBy('id')
      .execute();
    expect(audited).toEqual([
      { action: 'campaign.approve', actor_id: 'bert', actor_type: 'operator' },
      { action: 'ops.emergency_stop', actor_id: 'olga', actor_type: 'operator' },
      { action: 'ops.emergency_resume', actor_id: 'olga', actor_type: 'operator' },
    ]);
  }, 600_000);
});
