import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSmsProvider,
  type SmsMessage,
  type SmsProvider,
} from '../../../src/channels/sms/sms-provider.js';
import { type Fakes, startFakes } from '../../fakes/fakes.js';
import { freePort } from '../../support/process.js';
import {
  expectKind,
  expectNoPersonalData,
  PUBLIC_BASE_URL,
  phone,
  smsConfig,
  TWILIO_SID,
  TWILIO_TOKEN,
} from './helpers.js';

const TIMEOUT_MS = 700;

let fakes: Fakes;
let sms: SmsProvider;
let nextId = 500;

function message(to = phone(), body = 'Klix: jums -20% atlaide'): SmsMessage {
  nextId += 1;
  return { to, body, statusCallbackUrl: `/webhooks/twilio/status?m=${nextId}` };
}

beforeAll(async () => {
  fakes = await startFakes({ twilioAccountSid: TWILIO_SID, twilioAuthToken: TWILIO_TOKEN });
  sms = createSmsProvider(smsConfig(fakes.twilio.baseUrl), PUBLIC_BASE_URL, { timeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await sms.close();
  await fakes.close();
});

beforeEach(() => {
  fakes.twilio.faults.clear();
  fakes.log.clear();
});

describe('the SMS provider through the twilio SDK against the Twilio fake', () => {
  it("returns Twilio's sid; the fake got Basic auth and the form fields", async () => {
    const sent = message();
    const result = await sms.send(sent);

    expectKind(result, 'accepted');
    expect(result.providerId).toMatch(/^SM[0-9a-f]{32}$/);
    const request = fakes.twilio.requests.at(-1);
    expect(request?.path).toBe(`/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`);
    expect(request?.authorization).toBe(
      `Basic ${Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64')}`,
    );
    expect(request?.form).toEqual({
      To: sent.to,
      From: 'Klix',
      Body: `${sent.body}\nSTOP uz 1234`,
      StatusCallback: `${PUBLIC_BASE_URL}${sent.statusCallbackUrl}`,
    });
    expect(fakes.log.entries({ to: sent.to })[0]?.providerId).toBe(result.providerId);
    expect(fakes.log.deliveredCount({ messageId: String(nextId) })).toBe(1);
  });

  it('sends from the messaging service, without From, when one is configured', async () => {
    const service = createSmsProvider(
      smsConfig(fakes.twilio.baseUrl, { from: undefined, messagingServiceSid: `MG${'2b'.repeat(16)}` }),
      PUBLIC_BASE_URL,
    );
    try {
      const result = await service.send(message());
      expectKind(result, 'accepted');
      const form = fakes.twilio.requests.at(-1)?.form;
      expect(form?.MessagingServiceSid).toBe(`MG${'2b'.repeat(16)}`);
      expect(form?.From).toBeUndefined();
    } finally {
      await service.close();
    }
  });

  it('passes an absolute status callback URL as it is, and does not repeat the opt-out text', async () => {
    const sent = {
      ...message(),
      body: 'Atlaide!\nSTOP uz 1234',
      statusCallbackUrl: 'https://hooks.example.lv/s?m=1',
    };
    await sms.send(sent);

    const form = fakes.twilio.requests.at(-1)?.form;
    expect(form?.StatusCallback).toBe('https://hooks.example.lv/s?m=1');
    expect(form?.Body).toBe('Atlaide!\nSTOP uz 1234');
  });

  it.each([21211, 21614, 21610])(
    'classifies Twilio error %i as invalid_number, with a detail that does not contain the number',
    async (code) => {
      const to = phone();
      fakes.twilio.faults.add({ to, fault: { type: 'error', status: 400, code } });
      const result = await sms.send(message(to));

      expectKind(result, 'permanent');
      expect(result.reason).toBe('invalid_number');
      expect(result.code).toBe(String(code));
      expectNoPersonalData(result, to, to.slice(1));
    },
  );

  it('classifies another 400 as rejected', async () => {
    fakes.twilio.faults.add({
      fault: {
        type: 'error',
        status: 400,
        code: 21408,
        message: 'Permission to send an SMS has not been enabled for the region',
      },
    });
    const result = await sms.send(message());

    expectKind(result, 'permanent');
    expect(result.reason).toBe('rejected');
    expect(result.code).toBe('21408');
  });

  it('classifies 429 as retry, with the Retry-After', async () => {
    fakes.twilio.faults.add({ fault: { type: 'error', status: 429, code: 20429, retryAfterSeconds: 7 } });
    const result = await sms.send(message());

    expectKind(result, 'retry');
    expect(result.retryAfterMs).toBe(7_000);
  });

  it('classifies 503 as retry', async () => {
    fakes.twilio.faults.add({ fault: { type: 'error', status: 503 } });
    const result = await sms.send(message());

    expectKind(result, 'retry');
    expect(result.code).toBe('20503');
  });

  it('classifies 500 as unknown', async () => {
    fakes.twilio.faults.add({ fault: { type: 'error', status: 500 } });
    const result = await sms.send(message());

    expectKind(result, 'unknown');
  });

  it('classifies a dropped answer as unknown, though the fake has the message', async () => {
    fakes.twilio.faults.add({ fault: { type: 'drop' } });
    const sent = message();
    const result = await sms.send(sent);

    expectKind(result, 'unknown');
    expectNoPersonalData(result, sent.to);
    expect(fakes.log.deliveredCount({ to: sent.to })).toBe(1);
    expect(fakes.log.entries({ to: sent.to })[0]?.handling).toBe('dropped');
  });

  it('classifies an answer slower than the timeout as unknown', async () => {
    fakes.twilio.faults.add({ fault: { type: 'delay', ms: 2_000 } });
    const started = Date.now();
    const result = await sms.send(message());

    expectKind(result, 'unknown');
    expect(Date.now() - started).toBeLessThan(1_900);
  });

  it('classifies a refused connection as retry', async () => {
    const closed = createSmsProvider(smsConfig(`http://127.0.0.1:${await freePort()}`), PUBLIC_BASE_URL);
    try {
      const to = phone();
      const result = await closed.send(message(to));
      expectKind(result, 'retry');
      expect(result.code).toBe('ECONNREFUSED');
      expectNoPersonalData(result, to);
    } finally {
      await closed.close();
    }
  });

  it('classifies a wrong auth token as rejected', async () => {
    const wrong = createSmsProvider(smsConfig(fakes.twilio.baseUrl, { authToken: 'wrong' }), PUBLIC_BASE_URL);
    try {
      const result = await wrong.send(message());
      expectKind(result, 'permanent');
      expect(result.reason).toBe('rejected');
      expect(result.code).toBe('20003');
    } finally {
      await wrong.close();
    }
  });

  it('classifies a number that is not E.164 as invalid_number without calling Twilio', async () => {
    const before = fakes.twilio.requests.length;
    const result = await sms.send(message('20000000'));

    expectKind(result, 'permanent');
    expect(result.reason).toBe('invalid_number');
    expect(fakes.twilio.requests.length).toBe(before);
  });
});
