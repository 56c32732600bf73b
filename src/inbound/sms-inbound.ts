import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import { endAllGrants, recordConsentChanges } from '../consent/ledger.js';
import type { Db } from '../db/database.js';
import type { Deps } from '../deps.js';
import { currentNotice } from '../notices/notices.repository.js';
import { recordMessageEvent } from './events.js';
import { lastSentSmsId, liveRecipientIdsByPhone, smsKeywordWithdrawals } from './inbound.repository.js';
import type { Keyword } from './sms-keywords.js';

/** The person texting a keyword: no personal data, only the door it came through. */
export const SMS_KEYWORD_ACTOR: Actor = Object.freeze({ type: 'data_subject', id: 'sms_keyword' });

type KeywordDeps = Pick<Deps, 'config' | 'logger'>;

/** STOP: ends every live SMS grant of the person. */
async function stop(trx: Db, deps: KeywordDeps, requestId: string, recipientId: number): Promise<number> {
  const recorded = await endAllGrants(trx, deps.config.pseudonymSecret, {
    recipientId,
    action: 'withdraw',
    channels: ['sms'],
    source: 'sms_keyword',
    actor: SMS_KEYWORD_ACTOR,
    evidence: { requestId },
    reason: 'sms_stop',
  });
  if (recorded.length > 0) {
    await audit(trx, {
      actor: SMS_KEYWORD_ACTOR,
      action: 'consent.withdraw',
      subjectType: 'recipient',
      subjectId: recipientId,
      recipientId,
      requestId,
      reason: 'sms_stop',
      details: { events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`) },
    });
  }
  return recorded.length;
}

/**
 * START: re-grants exactly what STOP withdrew — the SMS purposes whose deciding (latest) event is a
 * `sms_keyword` withdrawal — under the notice in force now.
 */
async function start(trx: Db, deps: KeywordDeps, requestId: string, recipientId: number): Promise<number> {
  const stopped = await smsKeywordWithdrawals(trx, recipientId);
  if (stopped.length === 0) return 0;
  const notice = await currentNotice(trx);
  if (!notice) {
    deps.logger.warn({ requestId }, 'sms START ignored: no notice is in force');
    return 0;
  }
  const recorded = await recordConsentChanges(trx, deps.config.pseudonymSecret, {
    recipientId,
    // now by the database's clock, as the STOP was, so it takes effect after the STOP it undoes; only
    // a START whose transaction began before that STOP's (and waited for it) loses to it
    changes: stopped.map((s) => ({ purpose: s.purpose, channel: 'sms' as const, action: 'grant' as const })),
    source: 'sms_keyword',
    actor: SMS_KEYWORD_ACTOR,
    noticeVersion: notice.version,
    evidence: { requestId },
  });
  await audit(trx, {
    actor: SMS_KEYWORD_ACTOR,
    action: 'consent.grant',
    subjectType: 'recipient',
    subjectId: recipientId,
    recipientId,
    requestId,
    reason: 'sms_start',
    details: {
      notice_version: notice.version,
      events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`),
    },
  });
  return recorded.length;
}

/**
 * A keyword texted from a phone number, applied in one transaction to every live person with that
 * number: STOP withdraws all their SMS consent, START re-grants what STOP withdrew. The last SMS sent
 * to each of them gets a `replied` event (`providerEventId` makes a repeated callback count once).
 */
export async function applySmsKeyword(
  db: Db,
  deps: KeywordDeps,
  input: {
    readonly phone: string;
    readonly keyword: Keyword;
    readonly requestId: string;
    readonly providerEventId: string;
  },
): Promise<{ people: number; events: number }> {
  const { keyword, requestId } = input;
  return db.transaction().execute(async (trx) => {
    const people = await liveRecipientIdsByPhone(trx, input.phone);
    let n = 0;
    for (const recipientId of people) {
      n +=
        keyword === 'stop'
          ? await stop(trx, deps, requestId, recipientId)
          : await start(trx, deps, requestId, recipientId);
      const last = await lastSentSmsId(trx, recipientId);
      if (last !== undefined) {
        await recordMessageEvent(trx, {
          messageId: last,
          type: 'replied',
          providerEventId: input.providerEventId,
          data: { keyword },
        });
      }
    }
    return { people: people.length, events: n };
  });
}
