import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CampaignInput, parseCampaign } from '../../campaigns/campaign.js';
import { campaignViews } from '../../campaigns/campaign-view.js';
import { createCampaign, loadCampaign } from '../../campaigns/campaigns.repository.js';
import {
  approveCampaign,
  type CampaignRow,
  cancelCampaign,
  pauseCampaign,
  rejectCampaign,
  resumeCampaign,
  runCampaignNow,
  scheduleCampaign,
  submitCampaign,
  testSendCampaign,
  unscheduleCampaign,
} from '../../campaigns/lifecycle.js';
import { previewCampaign } from '../../campaigns/preview.js';
import { parseSchedule } from '../../campaigns/schedule.js';
import type { Deps } from '../../deps.js';
import { NotFoundError } from '../../errors/not-found-error.js';
import { ValidationError } from '../../errors/validation-error.js';
import { deliveryHolds } from '../../reports/report.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

const USAGE = `campaign create --file DEFINITION.json | --name N --purpose P --channel C... [--frequency-cap 2/7d] [--quiet-hours 21:00-09:00]
  campaign preview ID [--sample N]      campaign status ID
  campaign submit|approve|reject|pause|resume|cancel|run-now|test-send|unschedule ID [--reason R] [--version V]
  campaign schedule ID --at ISO | --cron EXPR [--tz ZONE] [--ends-at ISO] | --every SECONDS [--ends-at ISO]
  (all take --actor NAME and --json)`;

function idOf(value: string | undefined): number {
  if (value === undefined || !/^[0-9]{1,15}$/.test(value)) throw new UsageError('a campaign id is required');
  return Number(value);
}

async function printCampaign(deps: Deps, out: Output, row: CampaignRow, extra: Record<string, unknown> = {}) {
  const [view] = await campaignViews(deps.db, [row]);
  out.line(
    `campaign ${row.id} "${row.name}": ${row.status}, version ${row.version}` +
      (row.approved_version !== null ? `, approved v${row.approved_version} by ${row.approved_by}` : '') +
      (view?.schedule ? `, schedule ${JSON.stringify(view.schedule)}` : ''),
  );
  for (const [k, v] of Object.entries(extra))
    out.line(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  out.result({ campaign: view, ...extra });
}

async function definitionFrom(values: Record<string, unknown>): Promise<CampaignInput> {
  if (typeof values.file === 'string') {
    const text = await readFile(values.file, 'utf8').catch(() => {
      throw new UsageError(`--file: cannot read ${values.file}`);
    });
    try {
      return JSON.parse(text) as CampaignInput;
    } catch {
      throw new UsageError(`--file: ${values.file} is not JSON`);
    }
  }
  return {
    name: values.name,
    purpose: values.purpose,
    channels: values.channel,
    ...(values['frequency-cap'] !== undefined ? { frequency_cap: values['frequency-cap'] } : {}),
    ...(values['quiet-hours'] !== undefined ? { quiet_hours: values['quiet-hours'] } : {}),
  };
}

const ACTIONS = [
  'create',
  'preview',
  'status',
  'submit',
  'approve',
  'reject',
  'pause',
  'resume',
  'cancel',
  'run-now',
  'test-send',
  'unschedule',
  'schedule',
] as const;

/** The operator's side of the campaign lifecycle (docs/campaign-lifecycle.md); the actor is an operator. */
export const campaign: Command = {
  name: 'campaign',
  usage: `${USAGE}\n      create, approve, schedule and follow campaigns`,
  async run(args, env, out) {
    const {
      values,
      positionals: [action, ...positionals],
    } = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string' },
        name: { type: 'string' },
        purpose: { type: 'string' },
        channel: { type: 'string', multiple: true },
        'frequency-cap': { type: 'string' },
        'quiet-hours': { type: 'string' },
        sample: { type: 'string' },
        reason: { type: 'string' },
        version: { type: 'string' },
        at: { type: 'string' },
        cron: { type: 'string' },
        tz: { type: 'string' },
        every: { type: 'string' },
        'ends-at': { type: 'string' },
        actor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (!ACTIONS.some((a) => a === action))
      throw new UsageError(
        `expected an action: ${ACTIONS.join(', ')}${action === undefined ? '' : `, not "${action}"`}`,
      );
    return withDeps(env, out, 'campaign', async (deps) => {
      const actor = operatorActor(values.actor);
      const reason = values.reason;
      const id = () => idOf(positionals[0]);
      switch (action) {
        case 'create': {
          const parsed = parseCampaign(await definitionFrom(values), deps.config.policy);
          if (!parsed.ok) throw new ValidationError(parsed.problems);
          const stored = await createCampaign(deps.db, parsed.value, actor);
          const row = await deps.db
            .selectFrom('campaigns')
            .selectAll()
            .where('id', '=', stored.id)
            .executeTakeFirstOrThrow();
          await printCampaign(deps, out, row);
          return EXIT.ok;
        }
        case 'preview': {
          const sample = values.sample === undefined ? 10 : Number(values.sample);
          if (!Number.isInteger(sample) || sample < 0 || sample > 50)
            throw new UsageError('--sample must be 0-50');
          const preview = await previewCampaign(deps.db, await loadCampaign(deps.db, id()), deps.config, {
            sampleSize: sample,
          });
          out.line(`funnel: ${JSON.stringify(preview.funnel)}`);
          for (const s of preview.samples)
            out.line(`  ${s.client_number ?? '(erased)'} ${s.channels.join(',')} ${JSON.stringify(s.match)}`);
          out.result(preview);
          return EXIT.ok;
        }
        case 'status': {
          const row = await deps.db
            .selectFrom('campaigns')
            .selectAll()
            .where('id', '=', id())
            .executeTakeFirst();
          if (!row) throw new NotFoundError('campaign');
          const runs = await deps.db
            .selectFrom('campaign_runs')
            .select(['id', 'trigger', 'status', 'occurrence_key', 'funnel', 'created_at', 'finished_at'])
            .where('campaign_id', '=', row.id)
            .orderBy('id', 'desc')
            .limit(20)
            .execute();
          const messages = await deps.db
            .selectFrom('messages')
            .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
            .where('campaign_id', '=', row.id)
            .groupBy('status')
            .execute();
          const holds = await deliveryHolds(deps.db, { kind: 'campaign', campaignId: row.id });
          await printCampaign(deps, out, row, {
            messages: Object.fromEntries(messages.map((m) => [m.status, Number(m.n)])),
            holds,
            runs: runs.map((r) => ({
              id: r.id,
              trigger: r.trigger,
              status: r.status,
              occurrence: r.occurrence_key,
            })),
          });
          return EXIT.ok;
        }
        case 'schedule': {
          const kind = values.at !== undefined ? 'once' : values.cron !== undefined ? 'cron' : 'every';
          if ([values.at, values.cron, values.every].filter((v) => v !== undefined).length !== 1)
            throw new UsageError('give exactly one of --at, --cron, --every');
          const parsed = parseSchedule(
            {
              kind,
              ...(values.at !== undefined ? { at: values.at } : {}),
              ...(values.cron !== undefined ? { cron: values.cron } : {}),
              ...(values.tz !== undefined ? { time_zone: values.tz } : {}),
              ...(values.every !== undefined ? { every_seconds: Number(values.every) } : {}),
              ...(values['ends-at'] !== undefined ? { ends_at: values['ends-at'] } : {}),
            },
            new Date(),
            'schedule',
          );
          if (!parsed.ok) throw new ValidationError(parsed.problems);
          await printCampaign(deps, out, (await scheduleCampaign(deps, id(), parsed.value, actor)).after);
          return EXIT.ok;
        }
        case 'approve': {
          const version = values.version === undefined ? undefined : Number(values.version);
          if (version !== undefined && !Number.isInteger(version))
            throw new UsageError('--version is a number');
          const done = await approveCampaign(deps, id(), actor, {
            ...(version !== undefined ? { version } : {}),
            ...(reason !== undefined ? { reason } : {}),
          });
          await printCampaign(deps, out, done.after);
          return EXIT.ok;
        }
        case 'reject': {
          if (!reason) throw new UsageError('reject needs --reason');
          await printCampaign(deps, out, (await rejectCampaign(deps, id(), actor, reason)).after);
          return EXIT.ok;
        }
        case 'run-now': {
          const done = await runCampaignNow(deps, id(), actor);
          await printCampaign(deps, out, done.after, { run_id: done.runId });
          return EXIT.ok;
        }
        case 'test-send': {
          const done = await testSendCampaign(deps, id(), actor);
          await printCampaign(deps, out, done.after, { run_id: done.runId, seeds: done.seeds });
          return EXIT.ok;
        }
        case 'cancel': {
          const done = await cancelCampaign(deps, id(), actor, reason);
          await printCampaign(deps, out, done.after, { skipped: done.skipped });
          return EXIT.ok;
        }
        case 'submit':
        case 'pause':
        case 'resume':
        case 'unschedule': {
          const act = { submit: submitCampaign, pause: pauseCampaign, resume: resumeCampaign }[
            action as 'submit' | 'pause' | 'resume'
          ];
          const done =
            action === 'unschedule'
              ? await unscheduleCampaign(deps, id(), actor)
              : await act(deps, id(), actor, reason);
          await printCampaign(deps, out, done.after);
          return EXIT.ok;
        }
        default:
          throw new UsageError(`expected an action: ${ACTIONS.join(', ')}`);
      }
    });
  },
};
