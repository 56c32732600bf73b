import { parseArgs } from 'node:util';
import { recordOperatorWithdrawal } from '../../consent/operator-withdrawal.js';
import { parseInstant } from '../../domain/instant.js';
import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../../domain/vocabulary.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

const USAGE =
  'consent withdraw CLIENT_NUMBER --reason CODE [--purpose P]... [--channel C]... [--received-at ISO] [--actor NAME]';

/**
 * `--received-at`: when the request reached us, an ISO 8601 date and time with a zone, not in the
 * future; the withdrawal counts from then (docs/data-model.md). Absent: now (the database's clock).
 */
export function parseReceivedAt(
  value: string | undefined,
  now: number,
): { ok: true; at?: Date } | { ok: false; problem: string } {
  if (value === undefined) return { ok: true };
  const ms = parseInstant(value);
  if (ms === undefined) {
    return {
      ok: false,
      problem: `--received-at: "${value}" is not a date and time with a zone, e.g. 2026-12-07T09:30:00+02:00`,
    };
  }
  if (ms > now) {
    return {
      ok: false,
      problem: `--received-at: ${value} is in the future; give when the request was received`,
    };
  }
  return { ok: true, at: new Date(ms) };
}

/**
 * N12: a person may withdraw by e-mail. Support staff record it here; it takes effect at once (N13),
 * also for messages already queued (the workers re-check consent before sending), and counts from
 * `--received-at` (default now): a grant the person made after the request arrived stays in force.
 */
export const consent: Command = {
  name: 'consent',
  usage: `${USAGE}\n      record a withdrawal received by e-mail (source operator), counting from --received-at`,
  async run(args, env, out) {
    const {
      values,
      positionals: [action, ...positionals],
    } = parseArgs({
      args: [...args],
      options: {
        reason: { type: 'string' },
        purpose: { type: 'string', multiple: true },
        channel: { type: 'string', multiple: true },
        'received-at': { type: 'string' },
        actor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (action !== 'withdraw') throw new UsageError('expected the action: withdraw');
    if (positionals.length > 1) throw new UsageError('give one client number');
    return withDeps(env, out, 'consent', async (deps) => {
      const clientNumber = positionals[0];
      const problems: string[] = [];
      if (!clientNumber) problems.push('the client number is required');
      if (!values.reason || !/^[a-z_]{1,64}$/.test(values.reason))
        problems.push('--reason is a code like email_request');
      const purposes = values.purpose ?? [];
      const channels = values.channel ?? [];
      const badPurpose = purposes.filter((p) => !(PURPOSES as readonly string[]).includes(p));
      const badChannel = channels.filter((c) => !(CHANNELS as readonly string[]).includes(c));
      if (badPurpose.length)
        problems.push(`--purpose: unknown ${badPurpose.join(', ')}; known: ${PURPOSES.join(', ')}`);
      if (badChannel.length)
        problems.push(`--channel: unknown ${badChannel.join(', ')}; known: ${CHANNELS.join(', ')}`);
      const received = parseReceivedAt(values['received-at'], Date.now());
      if (!received.ok) problems.push(received.problem);
      if (problems.length > 0 || !received.ok) throw new UsageError(problems.join('; '));
      const receivedAt = received.at;
      const recorded = await recordOperatorWithdrawal(deps.db, deps.config.pseudonymSecret, {
        clientNumber: clientNumber ?? '',
        ...(receivedAt !== undefined ? { receivedAt } : {}),
        reason: values.reason ?? '',
        actor: operatorActor(values.actor),
        purposes: purposes as Purpose[],
        channels: channels as Channel[],
      });
      if (recorded.length === 0) out.line('nothing to withdraw: no consent in force matched');
      for (const c of recorded)
        out.line(
          `withdrawn ${c.purpose} on ${c.channel}${c.applied ? '' : ' (recorded, but a grant made after the request was received stays in force)'}`,
        );
      out.result({
        received_at: receivedAt?.toISOString() ?? null,
        withdrawn: recorded.map((c) => ({ purpose: c.purpose, channel: c.channel, applied: c.applied })),
      });
      return EXIT.ok;
    });
  },
};
