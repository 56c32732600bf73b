import type { Command } from '../command.js';
import { all } from './all.js';
import { api } from './api.js';
import { apiKey } from './api-key.js';
import { campaign } from './campaign.js';
import { consent } from './consent.js';
import { emergencyStopCommand } from './emergency-stop.js';
import { importCommand } from './import.js';
import { message } from './message.js';
import { migrate } from './migrate.js';
import { ready } from './ready.js';
import { retention } from './retention.js';
import { campaignRunner, emailWorker, maintenance, pushWorker, scheduler, smsWorker } from './roles.js';

/** Every `consentcast` command, in the order the usage text lists them. */
export const COMMANDS: readonly Command[] = [
  migrate,
  ready,
  api,
  campaignRunner,
  scheduler,
  emailWorker,
  smsWorker,
  pushWorker,
  maintenance,
  all,
  apiKey,
  consent,
  campaign,
  emergencyStopCommand,
  importCommand,
  retention,
  message,
];
