import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { MESSAGE_REF_HEADER } from '../../src/channels/email/email-provider.js';
import type { Db } from '../../src/db/database.js';
import type { FakesClient } from '../../test/fakes/client.js';
import type { FakePorts } from '../../test/fakes/fakes.js';
import { emailOf, phoneOf, tokenOf, troubled } from './audience.js';
import type { InjectedFault } from './options.js';
import type { Withdrawal } from './withdrawals.js';

/** Tells the fakes whom to treat badly (audience.ts `troubled`); returns how many of each. */
export async function configureFaults(fakes: FakesClient, size: number): Promise<Record<string, number>> {
  const t = troubled(size);
  for (const i of t.bounce) {
    await fakes.addFault('email', {
      to: emailOf(i) ?? '',
      fault: { type: 'error', status: 550, code: '5.1.1' },
    });
  }
  for (const i of t.transient) {
    await fakes.addFault('email', { to: emailOf(i) ?? '', times: 1, fault: { type: 'error', status: 451 } });
  }
  for (const i of t.deadToken) {
    await fakes.addFault('push', {
      to: tokenOf(i) ?? '',
      fault: { type: 'error', status: 404, code: 'UNREGISTERED' },
    });
  }
  for (const i of t.badNumber) {
    await fakes.addFault('sms', { to: phoneOf(i) ?? '', fault: { type: 'error', status: 400, code: 21211 } });
  }
  for (const i of t.dropped) {
    await fakes.addFault('sms', { to: phoneOf(i) ?? '', times: 1, fault: { type: 'drop' } });
  }
  return {
    'bouncing addresses': t.bounce.length,
    'addresses refusing once': t.transient.length,
    'dead push tokens': t.deadToken.length,
    'invalid numbers': t.badNumber.length,
    'SMS cut off after the provider took them': t.dropped.length,
  };
}

/**
 * Test-only (`--inject`): makes the fakes receive what a broken sender would send, so that the test
 * can show the self-check failing. Sent with the real SDK (nodemailer) to the SMTP sink, carrying
 * the outbox message id as the e-mail worker does:
 * - `duplicate`: a second copy of an e-mail the campaign sent;
 * - `after-withdrawal`: the e-mail of someone who withdrew from e-mail, whose message the worker
 *   skipped — what a worker that did not re-check consent would have sent.
 * Returns what was injected (ids only).
 */
export async function injectFault(
  kind: InjectedFault,
  input: { db: Db; runId: number; ports: FakePorts; withdrawals: readonly Withdrawal[] },
): Promise<string> {
  const candidates =
    kind === 'duplicate'
      ? await sql<{ id: number; email: string }>`
          SELECT m.id, r.email FROM messages m JOIN recipients r ON r.id = m.recipient_id
          WHERE m.run_id = ${input.runId} AND m.channel = 'email' AND m.status = 'sent' ORDER BY m.id LIMIT 1
        `.execute(input.db)
      : await sql<{ id: number; email: string }>`
          SELECT m.id, r.email FROM messages m JOIN recipients r ON r.id = m.recipient_id
          WHERE m.run_id = ${input.runId} AND m.channel = 'email' AND m.status = 'skipped'
            AND m.skip_reason = 'consent_withdrawn'
            AND m.recipient_id = ANY(${input.withdrawals.filter((w) => w.channel === 'email').map((w) => w.recipientId)}::bigint[])
          ORDER BY m.id LIMIT 1
        `.execute(input.db);
  const target = candidates.rows[0];
  if (target === undefined) throw new Error(`--inject ${kind}: no suitable e-mail message in this run`);
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: input.ports.smtp,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      from: 'offers@klix.app',
      to: target.email,
      subject: 'injected by the demo (--inject)',
      text: 'A message a broken sender would send.',
      headers: { [MESSAGE_REF_HEADER]: String(target.id) },
    });
  } finally {
    transport.close();
  }
  return `${kind}: message ${target.id} delivered to the SMTP fake outside the e-mail worker`;
}
