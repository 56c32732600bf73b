import type { Command } from '../command.js';
import { all } from './all.js';
import { api } from './api.js';
import { apiKey } from './api-key.js';
import { consent } from './consent.js';
import { importCommand } from './import.js';
import { migrate } from './migrate.js';
import { ready } from './ready.js';
import { retention } from './retention.js';
import { campaignRunner, emailWorker, maintenance, pushWorker, smsWorker } from './roles.js';

/** Every `consentcast` command, in the order the usage text lists them. */
export const COMMANDS: readonly Command[] = [
  migrate,
  ready,
  api,
  campaignRunner,
  emailWorker,
  smsWorker,
  pushWorker,
  maintenance,
  all,
  apiKey,
  consent,
  importCommand,
  retention,
];
