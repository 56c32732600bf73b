import type { Config } from '../config/config.js';
import type { ToSend } from '../delivery/content.js';
import type { ChannelSender } from '../delivery/sender.js';
import type { Channel } from '../domain/vocabulary.js';
import { createEmailProvider } from './email/email-provider.js';
import { createPushProvider } from './push/push-provider.js';
import { createSmsProvider } from './sms/sms-provider.js';

/**
 * The provider of one channel, built once from configuration, behind the worker's interface. Only
 * an enabled channel (CHANNELS) has settings; its role checks that before it gets here.
 */
export function createChannelSender(channel: Channel, config: Config): ChannelSender {
  const disabled = (): Error => new Error(`the ${channel} channel is not enabled (CHANNELS)`);
  if (channel === 'email') {
    if (config.email === undefined) throw disabled();
    const capacity = config.policy.handoff.email;
    const provider = createEmailProvider(config.email, config.controller, { maxConnections: capacity });
    return {
      capacity,
      send: (m: ToSend) => {
        if (m.channel !== 'email') throw new Error(`an ${m.channel} message reached the e-mail provider`);
        return provider.send({
          messageId: m.messageId,
          to: m.to,
          subject: m.subject,
          html: m.html,
          text: m.text,
          headers: m.headers,
        });
      },
      close: () => provider.close(),
    };
  }
  if (channel === 'sms') {
    if (config.sms === undefined) throw disabled();
    const capacity = config.policy.handoff.sms;
    const provider = createSmsProvider(config.sms, config.http.publicBaseUrl, { maxSockets: capacity });
    return {
      capacity,
      send: (m: ToSend) => {
        if (m.channel !== 'sms') throw new Error(`an ${m.channel} message reached the SMS provider`);
        return provider.send({ to: m.to, body: m.body, statusCallbackUrl: m.statusCallbackUrl });
      },
      close: () => provider.close(),
    };
  }
  if (config.push === undefined) throw disabled();
  const capacity = config.policy.handoff.push;
  const provider = createPushProvider(config.push, { maxInFlight: capacity });
  return {
    capacity,
    send: (m: ToSend) => {
      if (m.channel !== 'push') throw new Error(`an ${m.channel} message reached the push provider`);
      return provider.send({ tokens: m.tokens, title: m.title, body: m.body, data: m.data });
    },
    close: () => provider.close(),
  };
}
