import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmailProvider,
  type EmailMessage,
  type EmailProvider,
  MESSAGE_REF_HEADER,
} from '../../../src/channels/email/email-provider.js';
import { type Fakes, startFakes } from '../../fakes/fakes.js';
import { freePort } from '../../support/process.js';
import { CONTROLLER, emailConfig, expectKind, expectNoPersonalData } from './helpers.js';

const TIMEOUTS = { connectionMs: 1_000, greetingMs: 500, socketMs: 700, dnsMs: 500 };

let fakes: Fakes;
let email: EmailProvider;
let nextId = 100;

function message(to: string, extra: Partial<EmailMessage> = {}): EmailMessage {
  nextId += 1;
  return {
    messageId: nextId,
    to,
    subject: 'Jūsu piedāvājums',
    html: '<p>Sveiki, Anna!</p>',
    text: 'Sveiki, Anna!',
    headers: {
      'List-Unsubscribe': `<https://cc.example.lv/u/tok${nextId}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    ...extra,
  };
}

beforeAll(async () => {
  fakes = await startFakes();
  email = createEmailProvider(emailConfig(fakes.ports.smtp), CONTROLLER, { timeouts: TIMEOUTS });
});

afterAll(async () => {
  await email.close();
  await fakes.close();
});

beforeEach(() => {
  fakes.smtp.faults.clear();
  fakes.log.clear();
});

describe('the e-mail provider through nodemailer against the SMTP sink', () => {
  it('returns the queue id of the 250 reply, and the message arrives once with its headers', async () => {
    const sent = message('anna.berzina@example.lv');
    const result = await email.send(sent);

    expectKind(result, 'accepted');
    const received = fakes.smtp.received.find((m) => m.queueId === result.providerId);
    expect(received).toBeDefined();
    expect(received?.envelopeFrom).toBe('offers@klix.app');
    expect(received?.headers.from).toBe('Klix <offers@klix.app>');
    expect(received?.headers['reply-to']).toBe(CONTROLLER.supportEmail);
    expect(received?.headers[MESSAGE_REF_HEADER.toLowerCase()]).toBe(String(sent.messageId));
    expect(received?.headers['message-id']).toMatch(
      new RegExp(`^<[0-9a-f-]+\\.m${sent.messageId}@klix\\.app>$`),
    );
    expect(received?.text.trim()).toBe('Sveiki, Anna!');
    const [delivery] = fakes.log.entries({ messageId: String(sent.messageId) });
    expect(delivery?.headers['list-unsubscribe']).toBe(sent.headers['List-Unsubscribe']);
    expect(delivery?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(fakes.log.deliveredCount({ messageId: String(sent.messageId) })).toBe(1);
  });

  it('classifies a 4xx reply to RCPT TO as retry, and nothing is delivered', async () => {
    fakes.smtp.faults.add({ to: 'busy@example.lv', fault: { type: 'error', status: 451, code: '4.3.0' } });
    const sent = message('busy@example.lv');
    const result = await email.send(sent);

    expectKind(result, 'retry');
    expect(result.code).toBe('451 4.3.0');
    expectNoPersonalData(result, 'busy@example.lv');
    expect(fakes.log.deliveredCount({ to: 'busy@example.lv' })).toBe(0);
  });

  it('classifies a 4xx reply to the end of the message as retry', async () => {
    fakes.smtp.faults.add({ fault: { type: 'error', status: 452, code: '4.3.1', stage: 'data' } });
    const result = await email.send(message('later@example.lv'));

    expectKind(result, 'retry');
    expect(fakes.log.deliveredCount({ to: 'later@example.lv' })).toBe(0);
  });

  it('classifies a 5xx for the recipient as a hard bounce whose detail names no address', async () => {
    fakes.smtp.faults.add({ to: 'gone@example.lv', fault: { type: 'error', status: 550, code: '5.1.1' } });
    const result = await email.send(message('gone@example.lv'));

    expectKind(result, 'permanent');
    expect(result.reason).toBe('hard_bounce');
    expect(result.code).toBe('550 5.1.1');
    expect(result.detail).toContain('[email]');
    expectNoPersonalData(result, 'gone@example.lv');
  });

  it('classifies a 5xx policy refusal of the content as rejected, not as a bounce', async () => {
    fakes.smtp.faults.add({
      fault: { type: 'error', status: 554, code: '5.7.1', message: 'Message refused as spam', stage: 'data' },
    });
    const result = await email.send(message('spam.check@example.lv'));

    expectKind(result, 'permanent');
    expect(result.reason).toBe('rejected');
  });

  it('classifies a connection dropped after the message arrived as unknown, though the sink has it', async () => {
    fakes.smtp.faults.add({ fault: { type: 'drop' } });
    const sent = message('maybe@example.lv');
    const result = await email.send(sent);

    expectKind(result, 'unknown');
    expectNoPersonalData(result, 'maybe@example.lv');
    // It was in fact delivered: the reason an unknown is never sent again.
    expect(fakes.log.deliveredCount({ messageId: String(sent.messageId) })).toBe(1);
    expect(fakes.log.entries({ messageId: String(sent.messageId) })[0]?.handling).toBe('dropped');
  });

  it('classifies an answer slower than the socket timeout as unknown', async () => {
    fakes.smtp.faults.add({ fault: { type: 'delay', ms: 2_000 } });
    const started = Date.now();
    const result = await email.send(message('slow@example.lv'));

    expectKind(result, 'unknown');
    expect(result.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(1_900);
  });

  it('classifies a refused connection as retry', async () => {
    const closed = createEmailProvider(emailConfig(await freePort()), CONTROLLER, { timeouts: TIMEOUTS });
    try {
      const result = await closed.send(message('nobody@example.lv'));
      expectKind(result, 'retry');
      expectNoPersonalData(result, 'nobody@example.lv');
    } finally {
      await closed.close();
    }
  });

  it('classifies a server that never greets as retry, because nothing was sent', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const mute = createEmailProvider(emailConfig(port), CONTROLLER, { timeouts: TIMEOUTS });
    try {
      const result = await mute.send(message('quiet@example.lv'));
      expectKind(result, 'retry');
      expect(result.code).toBe('ETIMEDOUT');
    } finally {
      await mute.close();
      silent.close();
    }
  });

  it('signs the message with DKIM when DKIM is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-dkim-'));
    const keyFile = join(dir, 'dkim.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const signed = createEmailProvider(
      emailConfig(fakes.ports.smtp, { domain: 'klix.app', selector: 'cc2026', privateKeyFile: keyFile }),
      CONTROLLER,
      { timeouts: TIMEOUTS },
    );
    try {
      const result = await signed.send(message('signed@example.lv'));
      expectKind(result, 'accepted');
      const received = fakes.smtp.received.find((m) => m.queueId === result.providerId);
      const signature = received?.headers['dkim-signature'] ?? '';
      expect(signature).toMatch(/\bd=klix\.app;/);
      expect(signature).toMatch(/\bs=cc2026;/);
      expect(signature).toMatch(/\ba=rsa-sha256;/);
    } finally {
      await signed.close();
    }
  });

  it('refuses to start with a DKIM key file that holds no key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-dkim-'));
    const keyFile = join(dir, 'not-a-key.pem');
    writeFileSync(keyFile, 'not a key');
    expect(() =>
      createEmailProvider(
        emailConfig(fakes.ports.smtp, { domain: 'klix.app', selector: 's', privateKeyFile: keyFile }),
        CONTROLLER,
      ),
    ).toThrow();
  });

  it('does not let a caller set the headers the provider owns', async () => {
    await expect(
      email.send(message('x@example.lv', { headers: { From: 'evil@example.lv' } })),
    ).rejects.toThrow(/from/);
  });

  it('delivers fifty concurrent e-mails through the pool, each exactly once', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => message(`person${i}@example.lv`));
    const results = await Promise.all(batch.map((m) => email.send(m)));

    expect(results.every((r) => r.kind === 'accepted')).toBe(true);
    for (const m of batch) expect(fakes.log.deliveredCount({ messageId: String(m.messageId) })).toBe(1);
  });
});
