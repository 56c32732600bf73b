import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FaultRules, parseFaultRule } from '../../fakes/faults.js';
import { OpenRequests } from '../../fakes/open-requests.js';

describe('the fault rules of the provider fakes', () => {
  it('apply a rule for the next N messages, then no more', () => {
    const rules = new FaultRules();
    rules.add({ times: 2, fault: { type: 'drop' } });
    expect(rules.take('a')).toEqual({ type: 'drop' });
    expect(rules.take('b')).toEqual({ type: 'drop' });
    expect(rules.take('c')).toBeUndefined();
  });

  it('apply a recipient rule to that recipient only, every time, ignoring case', () => {
    const rules = new FaultRules();
    rules.add({ to: 'Gone@Example.lv', fault: { type: 'error', status: 550 } });
    expect(rules.take('other@example.lv')).toBeUndefined();
    expect(rules.take('gone@example.lv')?.type).toBe('error');
    expect(rules.take('gone@example.lv')?.type).toBe('error');
  });

  it('strike SMTP errors at RCPT TO by default and delays and drops after DATA', () => {
    const rules = new FaultRules();
    rules.add({ fault: { type: 'delay', ms: 10 } });
    rules.add({ fault: { type: 'error', status: 451 } });
    expect(rules.take('a', 'rcpt')).toEqual({ type: 'error', status: 451 });
    expect(rules.take('a', 'data')).toEqual({ type: 'delay', ms: 10 });
  });

  it('validate rules that come over the control API', () => {
    expect(parseFaultRule({ fault: { type: 'error', status: 429, retryAfterSeconds: 3 }, times: 1 })).toEqual(
      {
        fault: { type: 'error', status: 429, retryAfterSeconds: 3 },
        times: 1,
      },
    );
    expect(parseFaultRule({ fault: { type: 'explode' } })).toMatch(/fault.type/);
    expect(parseFaultRule({ fault: { type: 'drop' }, times: 0 })).toMatch(/times/);
    expect(parseFaultRule({ fault: { type: 'hold' } })).toEqual({ fault: { type: 'hold' } });
  });
});

describe('the open requests of a provider fake', () => {
  it('count a call from its start until it ends, once however often it is ended', () => {
    const open = new OpenRequests();
    const end = open.begin();
    open.begin();
    expect(open.count).toEqual({ open: 2, held: 0 });
    end();
    end();
    expect(open.count).toEqual({ open: 1, held: 0 });
  });

  it('hold a call until released, or until its client goes away', async () => {
    const open = new OpenRequests();
    const released = open.hold(new Socket());
    const client = new Socket();
    const gone = open.hold(client);
    expect(open.count.held).toBe(2);
    client.destroy();
    expect(await gone).toBe('gone');
    expect(open.release()).toBe(1);
    expect(await released).toBe('released');
    expect(open.count.held).toBe(0);
  });
});
