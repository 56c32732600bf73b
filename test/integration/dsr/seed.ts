import { expect } from 'vitest';
import type { Db } from '../../../src/db/database.js';
import { SEND_QUEUES } from '../../../src/queue/names.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import type { TestApp } from '../../support/test-app.js';

/** Everything personal the seeded person has, in the forms it could leak in. */
export interface Pii {
  readonly clientNumber: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  /** 8 local digits; stored as +371<local>. */
  readonly localPhone: string;
  readonly pushToken: string;
  /** DDMMYY-NNNNN */
  readonly personalCode: string;
  readonly birthDate: string;
  readonly attributeValues: readonly string[];
}

let people = 0;

/** A person whose every value is distinctive enough to be searched for anywhere. */
export function distinctivePii(tag: string): Pii {
  people += 1;
  const n = String(Math.floor(Math.random() * 900_000) + 100_000);
  // Distinct per person of a file: a bystander must not share a value with the person erased.
  const day = String(1 + (people % 28)).padStart(2, '0');
  const month = String(1 + ((people * 5) % 12)).padStart(2, '0');
  const year = String(1950 + ((people * 7) % 50));
  return {
    clientNumber: `CN-${tag}-${n}`,
    firstName: `Zelmīra${tag}`,
    lastName: `Kalniņa-Ozoliņa${n}`,
    email: `zelmira.${tag}.${n}@example.lv`,
    localPhone: `2${n}9`.slice(0, 8),
    pushToken: `fcm-token-${tag}-${n}-abcdefghijklmnop`,
    personalCode: `${day}${month}${year.slice(2)}-${n.slice(0, 5)}`,
    birthDate: `${year}-${month}-${day}`,
    attributeValues: [`kayaking${n}`, `orchid-collector-${n}`, `${n}77`],
  };
}

/** Every form in which the person's data must not survive an erasure. */
export function needles(p: Pii): string[] {
  return [
    p.clientNumber,
    p.firstName,
    p.lastName,
    p.email,
    `+371${p.localPhone}`,
    `371${p.localPhone}`,
    p.localPhone,
    p.pushToken,
    p.personalCode,
    p.personalCode.replace('-', ''),
    p.birthDate,
    ...p.attributeValues,
  ];
}

export interface Seeded {
  readonly recipientId: number;
  readonly messageIds: readonly number[];
  readonly listId: number;
  readonly runId: number;
}

type Inject = TestApp['app']['inject'];

async function ok(
  inject: Inject,
  opts: { method: 'PUT' | 'POST'; url: string; key: string; payload: object; idem?: string },
) {
  const reply = await inject({
    method: opts.method,
    url: opts.url,
    headers: {
      authorization: `Bearer ${opts.key}`,
      ...(opts.idem !== undefined ? { 'idempotency-key': opts.idem } : {}),
    },
    payload: opts.payload,
  });
  expect(reply.statusCode, `${opts.method} ${opts.url}: ${reply.body}`).toBeLessThan(300);
  return reply;
}

let sequence = 0;

/**
 * Seeds a person the way the product would hold them: profile, attributes and device through the API,
 * consents granted through the API (with an idempotency key naming the person, as a careless client
 * might), and a campaign run with messages, provider events carrying the address, a run exclusion, an
 * audience-list membership and a queued BullMQ job (ids only) inserted directly.
 */
export async function seedRichPerson(api: TestApp, key: string, p: Pii): Promise<Seeded> {
  const db: Db = api.deps.db;
  const inject: Inject = api.app.inject.bind(api.app);
  sequence += 1;
  await seedNotice(db);
  const url = `/v1/recipients/${p.clientNumber}`;
  await ok(inject, {
    method: 'PUT',
    url,
    key,
    payload: {
      first_name: p.firstName,
      last_name: p.lastName,
      email: p.email.toUpperCase(),
      phone: `+371 ${p.localPhone}`,
      birth_date: p.birthDate,
      personal_code: p.personalCode.replace('-', ''),
      locale: 'en',
      time_zone: 'Europe/Tallinn',
      attributes: {
        interests: [p.attributeValues[0], p.attributeValues[1]],
        loyalty_code: p.attributeValues[2],
      },
    },
  });
  await ok(inject, {
    method: 'POST',
    url: `${url}/devices`,
    key,
    payload: { token: p.pushToken, platform: 'android' },
  });
  await ok(inject, {
    method: 'POST',
    url: `${url}/consents`,
    key,
    idem: `grant-${p.clientNumber}`,
    payload: {
      source: 'app',
      notice_version: NOTICE_VERSION,
      changes: [
        { purpose: 'service_offers', channel: 'email', action: 'grant' },
        { purpose: 'service_offers', channel: 'sms', action: 'grant' },
        { purpose: 'service_offers', channel: 'push', action: 'grant' },
        { purpose: 'partner_offers', channel: 'email', action: 'grant' },
      ],
      evidence: { ip: '198.51.100.23', user_agent: `KlixApp/5.1 (${p.firstName}'s phone)` },
    },
  });
  const recipient = await db
    .selectFrom('recipients')
    .select('id')
    .where('client_number', '=', p.clientNumber)
    .executeTakeFirstOrThrow();
  const recipientId = recipient.id;

  const offer = await db
    .insertInto('offers')
    .values({
      key: `offer-${sequence}-${recipientId}`,
      name: 'Cashback',
      purpose: 'service_offers',
      created_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const campaign = await db
    .insertInto('campaigns')
    .values({
      name: `Spring ${sequence}`,
      purpose: 'service_offers',
      channels: ['email', 'sms'],
      created_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const run = await db
    .insertInto('campaign_runs')
    .values({
      campaign_id: campaign.id,
      occurrence_key: `manual-${sequence}`,
      trigger: 'manual',
      campaign_version: 1,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const messages = await db
    .insertInto('messages')
    .values([
      {
        run_id: run.id,
        campaign_id: campaign.id,
        recipient_id: recipientId,
        channel: 'email',
        purpose: 'service_offers',
        offer_id: offer.id,
        match: JSON.stringify({ rule: 'interests contains kayaking', offer: offer.id }),
        status: 'sent',
        provider_message_id: `<${sequence}.abc@smtp.example>`,
        sent_at: new Date(),
      },
      {
        run_id: run.id,
        campaign_id: campaign.id,
        recipient_id: recipientId,
        channel: 'sms',
        purpose: 'service_offers',
        offer_id: offer.id,
        status: 'queued',
      },
    ])
    .returning('id')
    .execute();
  const [email, sms] = messages.map((m) => m.id);
  if (email === undefined || sms === undefined) throw new Error('messages were not inserted');
  await db
    .insertInto('message_events')
    .values([
      { message_id: email, type: 'sent', provider_event_id: `s-${email}` },
      {
        message_id: email,
        type: 'opened',
        provider_event_id: `o-${email}`,
        data: JSON.stringify({ recipient: p.email, user_agent: 'Mail/1.0' }),
      },
      {
        message_id: email,
        type: 'clicked',
        provider_event_id: `c-${email}`,
        data: JSON.stringify({ to: `+371${p.localPhone}`, url: 'https://klix.app/o/1' }),
      },
    ])
    .execute();
  await db
    .insertInto('run_exclusions')
    .values({
      run_id: run.id,
      recipient_id: recipientId,
      channel: 'push',
      reason: 'frequency_cap',
      detail: JSON.stringify({ sent_in_window: 3 }),
    })
    .execute();
  const list = await db
    .insertInto('audience_lists')
    .values({ name: `VIP ${sequence}-${recipientId}`, created_by: 'test' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('audience_list_members')
    .values({ list_id: list.id, recipient_id: recipientId })
    .execute();

  // What the runner would enqueue for the queued SMS: ids only (N16).
  const queue = api.deps.queues.get(SEND_QUEUES.sms);
  if (!queue) throw new Error('no SMS queue');
  await queue.add('send', { messageId: sms }, { jobId: `message-${sms}` });

  return { recipientId, messageIds: [email, sms], listId: list.id, runId: run.id };
}

/** Registers a request, records the identity check and executes it through the API. */
export async function fileAndExecute(
  api: TestApp,
  key: string,
  clientNumber: string,
  kind: string,
  execute: object = {},
) {
  const inject: Inject = api.app.inject.bind(api.app);
  const created = await ok(inject, {
    method: 'POST',
    url: '/v1/dsr/requests',
    key,
    payload: { client_number: clientNumber, kind, received_via: 'email' },
  });
  const id = (created.json() as { id: number }).id;
  await ok(inject, {
    method: 'POST',
    url: `/v1/dsr/requests/${id}/identity-check`,
    key,
    payload: { checked_by: 'support-agent-7' },
  });
  const reply = await inject({
    method: 'POST',
    url: `/v1/dsr/requests/${id}/execute`,
    headers: { authorization: `Bearer ${key}` },
    payload: execute,
  });
  return { id, reply };
}
