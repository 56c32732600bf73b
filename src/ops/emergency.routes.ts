import { type Static, Type } from '@sinclair/typebox';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { Channel, ERROR_RESPONSES, Nullable, Timestamp } from '../http/schemas.js';
import { emergencyResume, emergencyState, emergencyStop } from './emergency-stop.js';

const PerChannel = Type.Object({ email: Type.Boolean(), sms: Type.Boolean(), push: Type.Boolean() });
const Scope = Type.Union([Type.Literal('all'), Channel]);
const StateView = Type.Object({
  stopped: Type.Boolean(),
  stopped_at: Nullable(Timestamp),
  stopped_by: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  stops: Type.Array(
    Type.Object({
      scope: Scope,
      stopped_at: Timestamp,
      stopped_by: Type.String(),
      reason: Nullable(Type.String()),
    }),
  ),
  channels_stopped: PerChannel,
  queues_paused: PerChannel,
});
const ChangeView = Type.Composite([StateView, Type.Object({ changed: Type.Boolean() })]);
const ReasonBody = Nullable(
  Type.Object(
    {
      reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
      /** Which sending to stop or resume: every channel (default) or one. */
      channel: Type.Optional(Channel),
    },
    { additionalProperties: false },
  ),
);

/** Emergency stop of all sending or of one channel (ops scope): stop, resume, and read the state back. */
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
        summary:
          'Stop all sending, or one channel (body `channel`), at once: every claim after the stop commits refuses, in every process; audited',
        tags: ['ops'],
        body: ReasonBody,
        response: { 200: ChangeView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof ReasonBody>;
      return emergencyStop(deps, actorOf(request), body?.reason, body?.channel ?? 'all');
    },
  );
  app.post(
    '/ops/emergency-resume',
    {
      config: { scope: 'ops' },
      schema: {
        summary:
          'Resume sending after an emergency stop of every channel, or of one (body `channel`); audited',
        tags: ['ops'],
        body: ReasonBody,
        response: { 200: ChangeView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof ReasonBody>;
      return emergencyResume(deps, actorOf(request), body?.reason, body?.channel ?? 'all');
    },
  );
}
