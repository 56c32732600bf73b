import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailProvider } from '../../../src/channels/email/email-provider.js';
import { createPushProvider } from '../../../src/channels/push/push-provider.js';
import { createSmsProvider } from '../../../src/channels/sms/sms-provider.js';
import { FakesClient } from '../../fakes/client.js';
import type { Delivery } from '../../fakes/delivery-log.js';
import type { FakePorts } from '../../fakes/fakes.js';
import { waitFor } from '../../support/process.js';
import { ROOT } from '../../support/service-env.js';
import {
  CONTROLLER,
  emailConfig,
  fcmToken,
  PUBLIC_BASE_URL,
  phone,
  pushConfig,
  smsConfig,
} from './helpers.js';

let child: ChildProcess;
let ports: FakePorts;
let logFile: string;

beforeAll(async () => {
  logFile = join(mkdtempSync(join(tmpdir(), 'cc-fakes-')), 'deliveries.jsonl');
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      `${ROOT}test/fakes/run.ts`,
      '--log',
      logFile,
      '--twilio-account-sid',
      smsConfig('').accountSid,
      '--twilio-auth-token',
      smsConfig('').authToken,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH } },
  );
  const stdout = child.stdout;
  if (stdout === null) throw new Error('no stdout');
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`run.ts exited with ${code}`)));
  });
  ports = JSON.parse(firstLine) as FakePorts;
});

afterAll(async () => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
});

describe('the fakes in their own process', () => {
  it('print their bound ports as one JSON line', () => {
    for (const key of ['smtp', 'twilio', 'fcm', 'control'] as const) {
      expect(ports[key]).toBeGreaterThan(0);
    }
  });

  it('take faults over the control API and log every delivery as a JSON line', async () => {
    const control = new FakesClient(ports.control);
    const email = createEmailProvider(emailConfig(ports.smtp), CONTROLLER);
    const sms = createSmsProvider(smsConfig(`http://127.0.0.1:${ports.twilio}`), PUBLIC_BASE_URL);
    const push = createPushProvider(pushConfig(`http://127.0.0.1:${ports.fcm}`));
    try {
      const bad = phone();
      await control.addFault('sms', {
        to: bad,
        times: 1,
        fault: { type: 'error', status: 400, code: 21211 },
      });

      const results = await Promise.all([
        email.send({
          messageId: 1,
          to: 'a@example.lv',
          subject: 's',
          html: '<p>h</p>',
          text: 'h',
          headers: {},
        }),
        sms.send({ to: phone(), body: 'b', statusCallbackUrl: '/webhooks/twilio/status?m=2' }),
        sms.send({ to: bad, body: 'b', statusCallbackUrl: '/webhooks/twilio/status?m=3' }),
        push.send({ tokens: [fcmToken()], title: 't', body: 'b', data: { messageId: '4' } }),
      ]);

      expect(results.map((r) => r.kind)).toEqual(['accepted', 'accepted', 'permanent', 'accepted']);
      const lines = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Delivery);
      expect(lines.map((d) => `${d.channel}:${d.messageId}:${d.handling}`).sort()).toEqual([
        'email:1:accepted',
        'push:4:accepted',
        'sms:2:accepted',
        'sms:3:rejected',
      ]);
      expect((await control.deliveries({ channel: 'sms' })).length).toBe(2);
      expect(lines.every((d) => /^[0-9a-f]{64}$/.test(d.contentHash))).toBe(true);
    } finally {
      await Promise.all([email.close(), sms.close(), push.close()]);
    }
  });

  it('hold calls over the control API, count them open, and answer them once released', async () => {
    const control = new FakesClient(ports.control);
    const email = createEmailProvider(emailConfig(ports.smtp), CONTROLLER);
    const sms = createSmsProvider(smsConfig(`http://127.0.0.1:${ports.twilio}`), PUBLIC_BASE_URL);
    const push = createPushProvider(pushConfig(`http://127.0.0.1:${ports.fcm}`));
    try {
      for (const channel of ['email', 'sms', 'push'] as const)
        await control.addFault(channel, { times: 1, fault: { type: 'hold' } });
      const results = Promise.all([
        email.send({
          messageId: 11,
          to: 'h@example.lv',
          subject: 's',
          html: '<p>h</p>',
          text: 'h',
          headers: {},
        }),
        sms.send({ to: phone(), body: 'b', statusCallbackUrl: '/webhooks/twilio/status?m=12' }),
        push.send({ tokens: [fcmToken()], title: 't', body: 'b', data: { messageId: '13' } }),
      ]);
      const held = { open: 1, held: 1 };
      await waitFor('each fake to hold its call', async () => {
        const open = await control.openRequests();
        return JSON.stringify(open) === JSON.stringify({ email: held, sms: held, push: held });
      });
      expect(await control.release()).toBe(3);
      expect((await results).map((r) => r.kind)).toEqual(['accepted', 'accepted', 'accepted']);
      const none = { open: 0, held: 0 };
      expect(await control.openRequests()).toEqual({ email: none, sms: none, push: none });
      const handled = (await control.deliveries()).filter((d) =>
        ['11', '12', '13'].includes(d.messageId ?? ''),
      );
      expect(handled.map((d) => d.handling)).toEqual(['held', 'held', 'held']);
    } finally {
      await Promise.all([email.close(), sms.close(), push.close()]);
    }
  });
});
