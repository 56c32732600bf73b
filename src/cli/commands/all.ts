import { startAll } from '../../roles/all.js';
import { role } from './roles.js';

export const all = role(
  'all',
  'all                                 every role in one process (api, workers, runner, maintenance)',
  startAll,
);
