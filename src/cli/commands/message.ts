import { parseArgs } from 'node:util';
import {
  listMessages,
  MESSAGE_STATUSES,
  type MessageStatus,
  RESOLUTIONS,
  type Resolution,
  resolveIndeterminate,
} from '../../messages/resolve.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

const USAGE = [
  'message list [--status S] [--campaign ID] [--run ID] [--unresolved] [--limit N]',
  'message resolve MESSAGE_ID --outcome sent|not_sent --reason TEXT [--actor NAME]',
];

const positiveId = (value: string | undefined, name: string, problems: string[]): number | undefined => {
  if (value === undefined) return undefined;
  if (/^[1-9][0-9]{0,14}$/.test(value)) return Number(value);
  problems.push(`${name} must be a positive whole number`);
  return undefined;
};

/**
 * Operators list messages (ids and metadata only) and resolve indeterminate ones after checking with
 * the provider; each resolution is audited with the operator and the reason.
 */
export const message: Command = {
  name: 'message',
  usage: `${USAGE[0]}\n      messages by status (default: indeterminate), ids and metadata only\n  ${USAGE[1]}\n      record whether an indeterminate message reached the provider (audited; never sends)`,
  async run(args, env, out) {
    const {
      values,
      positionals: [action, ...positionals],
    } = parseArgs({
      args: [...args],
      options: {
        status: { type: 'string' },
        campaign: { type: 'string' },
        run: { type: 'string' },
        unresolved: { type: 'boolean' },
        limit: { type: 'string' },
        outcome: { type: 'string' },
        reason: { type: 'string' },
        actor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (action !== 'list' && action !== 'resolve') throw new UsageError('expected an action: list, resolve');
    return withDeps(env, out, 'message', async (deps) => {
      const problems: string[] = [];
      if (action === 'list') {
        const status = values.status ?? 'indeterminate';
        if (!(MESSAGE_STATUSES as readonly string[]).includes(status))
          problems.push(`--status is one of ${MESSAGE_STATUSES.join(', ')}`);
        const campaignId = positiveId(values.campaign, '--campaign', problems);
        const runId = positiveId(values.run, '--run', problems);
        const limit = positiveId(values.limit, '--limit', problems) ?? 100;
        if (limit > 1000) problems.push('--limit is at most 1000');
        if (problems.length > 0) throw new UsageError(problems.join('; '));
        const rows = await listMessages(deps.db, {
          status: status as MessageStatus,
          ...(campaignId !== undefined ? { campaignId } : {}),
          ...(runId !== undefined ? { runId } : {}),
          ...(values.unresolved ? { resolved: false } : {}),
          limit,
        });
        for (const m of rows) {
          out.line(
            `${m.id}\tcampaign ${m.campaign_id}\trun ${m.run_id}\t${m.channel}\t${m.status}${m.resolution ? ` (resolved ${m.resolution})` : ''}\t${m.error_code ?? ''}\t${m.provider_message_id ?? ''}`,
          );
        }
        if (rows.length === 0) out.line(`no ${status} messages`);
        out.result({ messages: rows });
        return EXIT.ok;
      }
      const id = positiveId(positionals[0], 'MESSAGE_ID', problems);
      if (positionals[0] === undefined) problems.push('MESSAGE_ID is required');
      const outcome = values.outcome;
      if (outcome === undefined || !(RESOLUTIONS as readonly string[]).includes(outcome))
        problems.push('--outcome is sent or not_sent');
      const reason = values.reason?.trim() ?? '';
      if (reason.length < 3 || reason.length > 500)
        problems.push('--reason is 3-500 characters: what you checked');
      if (problems.length > 0 || id === undefined) throw new UsageError(problems.join('; '));
      const resolved = await resolveIndeterminate(deps.db, {
        messageId: id,
        outcome: outcome as Resolution,
        reason,
        actor: operatorActor(values.actor),
      });
      out.line(`message ${resolved.id} resolved as ${resolved.resolution} by ${resolved.resolved_by}`);
      out.result(resolved);
      return EXIT.ok;
    });
  },
};
