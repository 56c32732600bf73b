import { parseArgs } from 'node:util';
import { audit } from '../../audit/audit.js';
import { endAllGrants } from '../../consent/ledger.js';
import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../../domain/vocabulary.js';
import { requireRecipient } from '../../recipients/recipients.repository.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { operatorActor, UsageError, withDeps } from '../with-deps.js';

const USAGE =
  'consent withdraw CLIENT_NUMBER --reason CODE [--purpose P]... [--channel C]... [--received-at ISO] [--actor NAME]';

/**
 * N12: a person may withdraw by e-mail. Support staff record it here; it takes effect at once (N13),
 * also for messages already queued (the workers re-check consent before sending).
 */
export const consent: Command = {
  name: 'consent',
  usage: `${USAGE}\n      record a withdrawal received by e-mail (source operator)`,
  async run(args, env, out) {
    const [action, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
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
    return withDeps(env, out, 'consent', async (deps) => {
      if (action !== 'withdraw') throw new UsageError(`usage: consentcast ${USAGE}`);
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
      const receivedAt = values['received-at'] === undefined ? new Date() : new Date(values['received-at']);
      if (Number.isNaN(receivedAt.getTime())) problems.push('--received-at is not a date');
      if (problems.length > 0) throw new UsageError(problems.join('; '));
      const actor = operatorActor(values.actor);
      const recorded = await deps.db.transaction().execute(async (trx) => {
        const person = await requireRecipient(trx, clientNumber ?? '');
        const changes = await endAllGrants(trx, deps.config.pseudonymSecret, {
          recipientId: person.id,
          action: 'withdraw',
          occurredAt: receivedAt,
          ...(purposes.length ? { purposes: purposes as Purpose[] } : {}),
          ...(channels.length ? { channels: channels as Channel[] } : {}),
          source: 'operator',
          actor,
          evidence: {},
          reason: values.reason,
        });
        await audit(trx, {
          actor,
          action: 'consent.withdraw',
          subjectType: 'recipient',
          subjectId: person.id,
          recipientId: person.id,
          ...(values.reason !== undefined ? { reason: values.reason } : {}),
          details: { withdrawn: changes.map((c) => `${c.purpose}:${c.channel}`) },
        });
        return changes;
      });
      if (recorded.length === 0) out.line('nothing to withdraw: no consent in force matched');
      for (const c of recorded)
        out.line(
          `withdrawn ${c.purpose} on ${c.channel}${c.applied ? '' : ' (a later change already decided it)'}`,
        );
      out.result({
        withdrawn: recorded.map((c) => ({ purpose: c.purpose, channel: c.channel, applied: c.applied })),
      });
      return EXIT.ok;
    });
  },
};
