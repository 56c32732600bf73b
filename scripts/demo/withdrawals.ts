import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';
import type { Channel, Purpose } from '../../src/domain/vocabulary.js';

/** One withdrawal the demo made through the API, with where it stands in the database's order. */
export interface Withdrawal {
  readonly recipientId: number;
  readonly purpose: Purpose;
  readonly channel: Channel;
  /** The ledger event the API answered with. */
  readonly eventId: number;
  /**
   * The database's clock read after the API answered 201, so after the withdrawal committed: a
   * claim whose transaction began later than this saw the withdrawal.
   */
  readonly committedBy: Date;
}

interface Target {
  recipient_id: number;
  client_number: string;
  channel: Channel;
}

/**
 * People with a message of the run still queued on some channel, the newest first (BullMQ takes the
 * oldest first, so these are sent last): the withdrawals land while their messages wait. Every
 * fourth person withdraws the purpose on every channel at once, the others on that one channel.
 */
async function targets(db: Db, runId: number, count: number): Promise<Target[]> {
  const { rows } = await sql<Target>`
    SELECT DISTINCT ON (m.recipient_id) m.recipient_id, r.client_number, m.channel
    FROM (SELECT recipient_id, channel FROM messages WHERE run_id = ${runId} AND status = 'queued'
          ORDER BY id DESC LIMIT ${count * 4}) m
    JOIN recipients r ON r.id = m.recipient_id
    ORDER BY m.recipient_id
  `.execute(db);
  // Spread over the channels: round-robin over the channels the candidates have.
  const byChannel = new Map<Channel, Target[]>();
  for (const t of rows) byChannel.set(t.channel, [...(byChannel.get(t.channel) ?? []), t]);
  const out: Target[] = [];
  while (out.length < count && [...byChannel.values()].some((l) => l.length > 0)) {
    for (const list of byChannel.values()) {
      const t = list.shift();
      if (t !== undefined && out.length < count) out.push(t);
    }
  }
  return out;
}

interface ApiAnswer {
  events: { event_id: number; purpose: Purpose; channel: Channel; action: string }[];
}

/**
 * Withdraws consent for `count` people through the api role's `POST /v1/recipients/:n/consents`
 * (source `app`, an idempotency key each), a few requests at a time, as the mobile app would.
 */
export async function withdrawWhileSending(input: {
  db: Db;
  runId: number;
  purpose: Purpose;
  count: number;
  apiBase: string;
  apiKey: string;
}): Promise<Withdrawal[]> {
  const chosen = await targets(input.db, input.runId, input.count);
  const done: Withdrawal[] = [];
  const work = chosen.map((t, k) => async () => {
    const channels: readonly Channel[] = k % 4 === 3 ? ['email', 'sms', 'push'] : [t.channel];
    const response = await fetch(
      `${input.apiBase}/v1/recipients/${encodeURIComponent(t.client_number)}/consents`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${input.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({
          source: 'app',
          changes: channels.map((channel) => ({ purpose: input.purpose, channel, action: 'withdraw' })),
        }),
      },
    );
    if (response.status !== 201) {
      throw new Error(`withdrawal through the API answered ${response.status}: ${await response.text()}`);
    }
    const answer = (await response.json()) as ApiAnswer;
    const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(input.db);
    const committedBy = rows[0]?.now ?? new Date();
    for (const e of answer.events) {
      done.push({
        recipientId: t.recipient_id,
        purpose: e.purpose,
        channel: e.channel,
        eventId: e.event_id,
        committedBy,
      });
    }
  });
  const parallel = 4;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < work.length) {
        const job = work[next++];
        if (job) await job();
      }
    }),
  );
  return done;
}
