import { startApi } from '../../roles/api.js';
import { role } from './roles.js';

export const api = role(
  'api',
  'api                                 serve HTTP: the /v1 API, /openapi.json, /healthz, /readyz, /metrics, /admin/queues',
  startApi,
);
