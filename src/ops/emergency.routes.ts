import { type Static, Type } from '@sinclair/typebox';
import type { HttpContext, TypedApp } from '../http/app.js';
import { actorOf } from '../http/auth.js';
import { ERROR_RESPONSES, Nullable, Timestamp } from '../http/schemas.js';
import { emergencyResume, emergencyState, emergencyStop } from './emergency-stop.js';

const StateView = Type.Object({
  stopped: Type.Boolean(),
  stopped_at: Nullable(Timestamp),
  stopped_by: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  queues_paused: Type.Object({ email: Type.Boolean(), sms: Type.Boolean(), push: Type.Boolean() }),
});
const ChangeView = Type.Composite([StateView, Type.Object({ changed: Type.Boolean() })]);
const ReasonBody = Nullable(
  Type.Object(
    { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) },
    { additionalProperties: false },
  ),
);

/** Emergency stop of all sending (ops scope): stop, resume, and read the state back. */
export function registerEmergencyRoutes(app: TypedApp, ctx: HttpContext): void {
  const { deps } = ctx;
  app.get(
    '/ops/emergency-stop',
    {
      config: { scope: 'ops' },
      schema: {
        summary: 'Whether all sending is stopped, by whom and since when, and what each send queue says',
        tags: ['ops'],
        response: { 200: StateView, ...ERROR_RESPONSES },
      },
    },
    async () => emergencyState(deps),
  );
  app.post(
    '/ops/emergency-stop',
    {
      config: { scope: 'ops' },
      schema: {
        summary: 'Stop all sending on every channel at once (pauses the send queues globally); audited',
        tags: ['ops'],
        body: ReasonBody,
        response: { 200: ChangeView, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      emergencyStop(deps, actorOf(request), (request.body as Static<typeof ReasonBody>)?.reason),
  );
  app.post(
    '/ops/emergency-resume',
    {
      config: { scope: 'ops' },
      schema: {
        summary: 'Resume all sending after an emergency stop; audited',
        tags: ['ops'],
        body: ReasonBody,
        response: { 200: ChangeView, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      emergencyResume(deps, actorOf(request), (request.body as Static<typeof ReasonBody>)?.reason),
  );
}
