import type { Command } from '../command.js';

/**
 * Every `consentcast` command, in the order the usage text lists them. A command's module (and the
 * libraries it needs: Fastify, BullMQ, the provider SDKs) is loaded only when that command runs, so
 * `consent withdraw` does not start by loading twilio and firebase-admin, and the importer's memory
 * holds only what importing needs (docs/import.md, "Memory"). The usage text loads them all.
 */
export interface CommandEntry {
  readonly name: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'migrate', load: async () => (await import('./migrate.js')).migrate },
  { name: 'ready', load: async () => (await import('./ready.js')).ready },
  { name: 'api', load: async () => (await import('./api.js')).api },
  { name: 'campaign-runner', load: async () => (await import('./roles.js')).campaignRunner },
  { name: 'scheduler', load: async () => (await import('./roles.js')).scheduler },
  { name: 'email', load: async () => (await import('./roles.js')).emailWorker },
  { name: 'sms', load: async () => (await import('./roles.js')).smsWorker },
  { name: 'push', load: async () => (await import('./roles.js')).pushWorker },
  { name: 'maintenance', load: async () => (await import('./roles.js')).maintenance },
  { name: 'all', load: async () => (await import('./all.js')).all },
  { name: 'api-key', load: async () => (await import('./api-key.js')).apiKey },
  { name: 'staff', load: async () => (await import('./staff.js')).staff },
  { name: 'consent', load: async () => (await import('./consent.js')).consent },
  { name: 'campaign', load: async () => (await import('./campaign.js')).campaign },
  { name: 'emergency-stop', load: async () => (await import('./emergency-stop.js')).emergencyStopCommand },
  { name: 'import', load: async () => (await import('./import.js')).importCommand },
  { name: 'retention', load: async () => (await import('./retention.js')).retention },
  { name: 'message', load: async () => (await import('./message.js')).message },
];
