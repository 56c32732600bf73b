import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createPushProvider,
  type PushMessage,
  type PushProvider,
  SANDBOX_ACCESS_TOKEN,
} from '../../../src/channels/push/push-provider.js';
import { type Fakes, startFakes } from '../../fakes/fakes.js';
import { freePort } from '../../support/process.js';
import { expectKind, expectNoPersonalData, fcmToken, pushConfig } from './helpers.js';

const TIMEOUT_MS = 700;

let fakes: Fakes;
let push: PushProvider;
let nextId = 900;

/** The outbox id a message carries in its data. */
function ref(message: PushMessage): string {
  return message.data.messageId ?? '';
}

/** The requests the fake received for a message, whatever it answered. */
function requestsFor(sent: PushMessage): readonly unknown[] {
  return fakes.fcm.requests.filter((r) => JSON.stringify(r.body).includes(`"messageId":"${ref(sent)}"`));
}

function message(tokens: readonly string[] = [fcmToken()]): PushMessage {
  nextId += 1;
  return { tokens, title: 'Klix', body: 'Jums -20% atlaide', data: { messageId: String(nextId) } };
}

beforeAll(async () => {
  fakes = await startFakes({ fcmProjectId: 'klix-test' });
  push = createPushProvider(pushConfig(fakes.fcm.baseUrl), { timeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await push.close();
  await fakes.close();
});

beforeEach(() => {
  fakes.fcm.faults.clear();
  fakes.log.clear();
});

describe('the push provider against the FCM fake', () => {
  it("returns FCM's message name; the fake got the bearer token and the v1 body", async () => {
    const sent = message();
    const result = await push.send(sent);

    expectKind(result, 'accepted');
    expect(result.providerId).toMatch(/^projects\/klix-test\/messages\/0:\d+%[0-9a-f]+$/);
    expect(result.deadTokens).toEqual([]);
    const request = fakes.fcm.requests.at(-1);
    expect(request?.path).toBe('/v1/projects/klix-test/messages:send');
    expect(request?.authorization).toBe(`Bearer ${SANDBOX_ACCESS_TOKEN}`);
    expect(request?.body).toEqual({
      message: {
        token: sent.tokens[0],
        notification: { title: 'Klix', body: 'Jums -20% atlaide' },
        data: { messageId: ref(sent) },
      },
    });
    expect(fakes.log.deliveredCount({ messageId: ref(sent) })).toBe(1);
  });

  it('classifies 404 UNREGISTERED as a dead token, listed for invalidation and absent from the detail', async () => {
    const token = fcmToken();
    fakes.fcm.faults.add({
      to: token,
      fault: { type: 'error', status: 404, message: `Token ${token} is not registered` },
    });
    const result = await push.send(message([token]));

    expectKind(result, 'permanent');
    expect(result.reason).toBe('dead_token');
    expect(result.code).toBe('messaging/registration-token-not-registered');
    expect(result.deadTokens).toEqual([token]);
    expectNoPersonalData({ code: result.code, detail: result.detail }, token);
  });

  it('classifies 400 INVALID_ARGUMENT as a dead token, with the echoed token scrubbed', async () => {
    const token = fcmToken();
    fakes.fcm.faults.add({ to: token, fault: { type: 'error', status: 400 } });
    const result = await push.send(message([token]));

    expectKind(result, 'permanent');
    expect(result.reason).toBe('dead_token');
    expect(result.detail).toContain('[token]');
    expectNoPersonalData({ code: result.code, detail: result.detail }, token);
  });

  it('classifies 429 as retry, with the Retry-After', async () => {
    fakes.fcm.faults.add({ fault: { type: 'error', status: 429, retryAfterSeconds: 12 } });
    const result = await push.send(message());

    expectKind(result, 'retry');
    expect(result.retryAfterMs).toBe(12_000);
  });

  it('classifies 503 as retry at once, and the client does not send the message again', async () => {
    fakes.fcm.faults.add({ fault: { type: 'error', status: 503, retryAfterSeconds: 30 } });
    const sent = message();
    const started = Date.now();
    const result = await push.send(sent);

    expectKind(result, 'retry');
    expect(result.retryAfterMs).toBe(30_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(fakes.log.entries({ messageId: ref(sent) })).toHaveLength(1);
  });

  it('never sends a message again by itself after a 503 or a reset, even when a second try would succeed', async () => {
    const cases = [
      { fault: { type: 'error', status: 503 }, kind: 'retry' },
      { fault: { type: 'drop' }, kind: 'unknown' },
    ] as const;
    for (const { fault, kind } of cases) {
      fakes.fcm.faults.add({ fault, times: 1 });
      const sent = message();
      const result = await push.send(sent);

      expectKind(result, kind);
      // firebase-admin's client retried both at once (503 without Retry-After: no backoff).
      await new Promise((r) => setTimeout(r, 300));
      expect(requestsFor(sent), fault.type).toHaveLength(1);
      expect(fakes.log.entries({ messageId: ref(sent) })).toHaveLength(1);
    }
  });

  it('classifies 500 as unknown', async () => {
    fakes.fcm.faults.add({ fault: { type: 'error', status: 500 } });
    const result = await push.send(message());

    expectKind(result, 'unknown');
  });

  it('classifies a dropped answer as unknown; the fake has the message exactly once, as nothing re-sends it', async () => {
    fakes.fcm.faults.add({ fault: { type: 'drop' } });
    const sent = message();
    const result = await push.send(sent);

    expectKind(result, 'unknown');
    expectNoPersonalData({ code: result.code, detail: result.detail }, ...sent.tokens);
    // firebase-admin's client re-sent after ECONNRESET by itself; give any re-send the time to come.
    await new Promise((r) => setTimeout(r, 300));
    expect(fakes.log.deliveredCount({ messageId: ref(sent) })).toBe(1);
    expect(requestsFor(sent)).toHaveLength(1);
  });

  it('classifies an answer slower than the timeout as unknown, sent only once', async () => {
    fakes.fcm.faults.add({ fault: { type: 'delay', ms: 2_000 } });
    const sent = message();
    const started = Date.now();
    const result = await push.send(sent);

    expectKind(result, 'unknown');
    expect(result.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_900);
    await new Promise((r) => setTimeout(r, 300));
    expect(fakes.log.entries({ messageId: ref(sent) })).toHaveLength(1);
  });

  it('classifies a refused connection as retry', async () => {
    const closed = createPushProvider(pushConfig(`http://127.0.0.1:${await freePort()}`), {
      timeoutMs: TIMEOUT_MS,
    });
    try {
      const result = await closed.send(message());
      expectKind(result, 'retry');
      expect(result.code).toBe('ECONNREFUSED');
    } finally {
      await closed.close();
    }
  });

  it('classifies 403 SENDER_ID_MISMATCH as rejected, leaving the token alone', async () => {
    fakes.fcm.faults.add({ fault: { type: 'error', status: 403 } });
    const result = await push.send(message());

    expectKind(result, 'permanent');
    expect(result.reason).toBe('rejected');
    expect(result.deadTokens).toEqual([]);
  });

  it('classifies a wrong bearer token as rejected', async () => {
    const wrong = createPushProvider(pushConfig(fakes.fcm.baseUrl), { sandboxAccessToken: 'wrong' });
    try {
      const result = await wrong.send(message());
      expectKind(result, 'permanent');
      expect(result.reason).toBe('rejected');
    } finally {
      await wrong.close();
    }
  });

  it('sends to every device of the person; accepted on one, the dead one is still listed', async () => {
    const [live, dead] = [fcmToken(), fcmToken()];
    fakes.fcm.faults.add({ to: dead, fault: { type: 'error', status: 404 } });
    const sent = message([live, dead]);
    const result = await push.send(sent);

    expectKind(result, 'accepted');
    expect(result.deadTokens).toEqual([dead]);
    expect(fakes.log.deliveredCount({ messageId: ref(sent) })).toBe(1);
  });

  it('builds from a service account file, without FCM_API_BASE_URL, without connecting anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-fcm-'));
    const file = join(dir, 'service-account.json');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(
      file,
      JSON.stringify({
        type: 'service_account',
        project_id: 'klix-test',
        private_key_id: 'k1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: 'consentcast@klix-test.iam.gserviceaccount.com',
        client_id: '1',
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    const real = createPushProvider({ projectId: 'klix-test', credentialsFile: file, ratePerSecond: 500 });
    await real.close();
  });

  it('refuses a send without tokens as a programming error', async () => {
    await expect(push.send(message([]))).rejects.toThrow(TypeError);
  });
});
