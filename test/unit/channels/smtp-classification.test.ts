import { describe, expect, it } from 'vitest';
import { classifySmtpFailure, type SmtpFailure } from '../../../src/channels/email/classify.js';
import { queueIdOf } from '../../../src/channels/email/email-provider.js';

const reply = (responseCode: number, command: string, message: string): SmtpFailure => ({
  code: command === 'DATA' ? 'EMESSAGE' : 'EENVELOPE',
  responseCode,
  command,
  message,
});

describe('SMTP failure classification', () => {
  it('retries any 4xx reply, even one to the end of the message', () => {
    expect(classifySmtpFailure(reply(451, 'RCPT TO', '451 4.3.0 try later'), false).kind).toBe('retry');
    expect(classifySmtpFailure(reply(452, 'DATA', '452 4.3.1 full'), true).kind).toBe('retry');
    expect(classifySmtpFailure(reply(421, 'CONN', '421 closing'), true).kind).toBe('retry');
  });

  it('retries 503, a refused command rather than a refused message', () => {
    expect(classifySmtpFailure(reply(503, 'RCPT TO', '503 5.5.1 bad sequence'), false).kind).toBe('retry');
  });

  it('calls a 5xx at RCPT TO about the address a hard bounce', () => {
    const result = classifySmtpFailure(reply(550, 'RCPT TO', '550 5.1.1 <a@b.lv>: no such user'), false);
    expect(result).toMatchObject({ kind: 'permanent', reason: 'hard_bounce', code: '550 5.1.1' });
  });

  it('calls a 5xx at RCPT TO without an enhanced code a hard bounce', () => {
    expect(classifySmtpFailure(reply(550, 'RCPT TO', '550 unknown user'), false)).toMatchObject({
      reason: 'hard_bounce',
    });
  });

  it('calls a policy refusal (5.7.x) rejected, not a bounce, wherever it comes', () => {
    expect(classifySmtpFailure(reply(550, 'RCPT TO', '550 5.7.1 relaying denied'), false)).toMatchObject({
      reason: 'rejected',
    });
    expect(classifySmtpFailure(reply(554, 'DATA', '554 5.7.1 spam'), true)).toMatchObject({
      reason: 'rejected',
    });
  });

  it('calls a 5xx at MAIL FROM or AUTH rejected: it is about us, not the recipient', () => {
    expect(classifySmtpFailure(reply(550, 'MAIL FROM', '550 5.1.0 sender rejected'), false)).toMatchObject({
      reason: 'rejected',
    });
    expect(classifySmtpFailure(reply(535, 'AUTH PLAIN', '535 5.7.8 bad credentials'), false)).toMatchObject({
      reason: 'rejected',
    });
  });

  it('retries a failure without a reply before the whole message went into DATA', () => {
    const refused = { code: 'ECONNECTION', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:25' };
    expect(classifySmtpFailure(refused, false)).toMatchObject({ kind: 'retry', code: 'ECONNECTION' });
  });

  it('calls a failure without a reply after the whole message went into DATA unknown', () => {
    const dropped = { code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' };
    expect(classifySmtpFailure(dropped, true).kind).toBe('unknown');
    const timeout = { code: 'ETIMEDOUT', command: 'CONN', message: 'Timeout' };
    expect(classifySmtpFailure(timeout, true).kind).toBe('unknown');
  });

  it('scrubs the address a server echoes', () => {
    const result = classifySmtpFailure(
      reply(550, 'RCPT TO', '550 5.1.1 <anna@example.lv>: no such user'),
      false,
    );
    expect(JSON.stringify(result)).not.toContain('anna@example.lv');
  });

  it('reads the queue id of a 250 reply, and nothing from a reply without one', () => {
    expect(queueIdOf('250 2.0.0 Ok: queued as 4ZxK3d1Zq9z9sKJ')).toBe('4ZxK3d1Zq9z9sKJ');
    expect(queueIdOf('250 OK: queued as <ABC123>')).toBe('ABC123');
    expect(queueIdOf('250 OK')).toBeUndefined();
  });
});
