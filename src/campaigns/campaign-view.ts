import { type Static, Type } from '@sinclair/typebox';
import type { Db } from '../db/database.js';
import { Nullable, Purpose, Timestamp } from '../http/schemas.js';
import { type CampaignRow, offerIdsByCampaign } from './campaigns.repository.js';
import { CAMPAIGN_STATUSES } from './lifecycle.js';
import { scheduleOf, scheduleView } from './schedule.js';

/** A campaign as the API and the `campaign` command show it: its row, its offer ids and its schedule. */

export const CampaignStatusSchema = Type.Union(CAMPAIGN_STATUSES.map((s) => Type.Literal(s)));

const ScheduleView = Nullable(
  Type.Object({
    kind: Type.String(),
    at: Type.Optional(Type.String()),
    cron: Type.Optional(Type.String()),
    time_zone: Type.Optional(Type.String()),
    every_seconds: Type.Optional(Type.Integer()),
    ends_at: Type.Optional(Nullable(Type.String())),
  }),
);
export const CampaignView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  purpose: Purpose,
  status: CampaignStatusSchema,
  version: Type.Integer(),
  approved_version: Nullable(Type.Integer()),
  approved_by: Nullable(Type.String()),
  approved_at: Nullable(Timestamp),
  audience: Type.Unknown(),
  offer_mode: Type.String(),
  offer_ids: Type.Array(Type.Integer()),
  channels: Type.Array(Type.String()),
  channel_strategy: Type.String(),
  quiet_hours: Nullable(Type.String()),
  frequency_cap: Nullable(Type.String()),
  send_rate_per_second: Nullable(Type.Integer()),
  schedule: ScheduleView,
  created_by: Type.String(),
  updated_by: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  paused_at: Nullable(Timestamp),
  cancelled_at: Nullable(Timestamp),
});
export type CampaignViewT = Static<typeof CampaignView>;

const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

export function campaignView(row: CampaignRow, offerIds: readonly number[]): CampaignViewT {
  return {
    id: row.id,
    name: row.name,
    purpose: row.purpose,
    status: row.status,
    version: row.version,
    approved_version: row.approved_version,
    approved_by: row.approved_by,
    approved_at: row.approved_at,
    audience: row.audience,
    offer_mode: row.offer_mode,
    offer_ids: [...offerIds],
    channels: row.channels,
    channel_strategy: row.channel_strategy,
    quiet_hours:
      row.quiet_start_minute === null || row.quiet_end_minute === null
        ? null
        : `${hhmm(row.quiet_start_minute)}-${hhmm(row.quiet_end_minute)}`,
    frequency_cap:
      row.frequency_cap_max === null ? null : `${row.frequency_cap_max}/${row.frequency_cap_window_hours}h`,
    send_rate_per_second: row.send_rate_per_second,
    schedule: scheduleView(scheduleOf(row)),
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    paused_at: row.paused_at,
    cancelled_at: row.cancelled_at,
  };
}

/** Campaigns as the API shows them (with their offer ids), in the order given. */
export async function campaignViews(db: Db, rows: readonly CampaignRow[]): Promise<CampaignViewT[]> {
  if (rows.length === 0) return [];
  const offers = await offerIdsByCampaign(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => campaignView(r, offers.get(r.id) ?? []));
}

/** One campaign as the API shows it. */
export async function campaignViewOf(db: Db, row: CampaignRow): Promise<CampaignViewT> {
  return campaignView(row, (await offerIdsByCampaign(db, [row.id])).get(row.id) ?? []);
}
