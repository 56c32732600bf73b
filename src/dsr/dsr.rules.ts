/**
 * The rules of the register of data-subject requests (N14), as pure functions: when a request is due,
 * which status it may move to, and what an operation needs before it may run.
 */

export const DSR_KINDS = [
  'access',
  'portability',
  'rectify',
  'erase',
  'restrict',
  'lift_restriction',
  'object_marketing',
  'object_profiling',
] as const;
export type DsrKind = (typeof DSR_KINDS)[number];

export const RECEIVED_VIA = ['email', 'app', 'letter', 'branch', 'phone', 'web'] as const;
export type ReceivedVia = (typeof RECEIVED_VIA)[number];

export type DsrStatus = 'received' | 'in_progress' | 'completed' | 'rejected';
export type DsrEvent = 'identity_checked' | 'executed' | 'rejected';

/** The controller's time zone: "one month" is counted on its calendar (Riga). */
export const CONTROLLER_TIME_ZONE = 'Europe/Riga';

/**
 * GDPR art. 12(3): answer within one month of receipt. The month is a calendar month on the
 * controller's calendar; a day that the next month lacks becomes its last day (31 January → 28/29
 * February), as in Regulation 1182/71. The time of day is kept: the deadline is never later than the
 * law's, only up to a day earlier.
 */
export function dueAt(receivedAt: Date, timeZone: string = CONTROLLER_TIME_ZONE): Date {
  const local = zonedParts(receivedAt, timeZone);
  const monthIndex = local.month; // 1-based month of receipt = 0-based index of the next month
  const year = local.year + Math.floor(monthIndex / 12);
  const month = monthIndex % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return fromZoned(
    { ...local, year, month: month + 1, day: Math.min(local.day, lastDay) },
    timeZone,
    receivedAt.getUTCMilliseconds(),
  );
}

export function isOverdue(request: { status: DsrStatus; due_at: Date }, now: Date = new Date()): boolean {
  return isOpen(request.status) && request.due_at.getTime() < now.getTime();
}

export function isOpen(status: DsrStatus): boolean {
  return status === 'received' || status === 'in_progress';
}

export type TransitionRefusal = 'dsr_closed' | 'identity_not_checked' | 'identity_already_checked';

/**
 * received → in_progress when the identity check is recorded; in_progress → completed when the
 * request is executed; any open request → rejected. Closed requests never move again.
 */
export function nextStatus(
  current: DsrStatus,
  event: DsrEvent,
): { ok: true; status: DsrStatus } | { ok: false; code: TransitionRefusal; message: string } {
  if (!isOpen(current))
    return { ok: false, code: 'dsr_closed', message: `the request is already ${current}` };
  switch (event) {
    case 'identity_checked':
      return current === 'received'
        ? { ok: true, status: 'in_progress' }
        : {
            ok: false,
            code: 'identity_already_checked',
            message: "the requester's identity is already checked",
          };
    case 'executed':
      return current === 'in_progress'
        ? { ok: true, status: 'completed' }
        : {
            ok: false,
            code: 'identity_not_checked',
            message: "record the check of the requester's identity before executing the request",
          };
    case 'rejected':
      return { ok: true, status: 'rejected' };
  }
}

/** The audit action of executing a request of this kind. */
export function auditActionOf(kind: DsrKind): string {
  return kind === 'access' || kind === 'portability' ? 'dsr.export' : `dsr.${kind}`;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function zonedParts(instant: Date, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

function asUtc(p: LocalParts): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** The instant whose wall-clock time in the zone is `p` (the later one when a DST change repeats it). */
function fromZoned(p: LocalParts, timeZone: string, ms: number): Date {
  const wall = asUtc(p);
  const offsetAt = (t: number) => asUtc(zonedParts(new Date(t), timeZone)) - t;
  let guess = wall - offsetAt(wall);
  const corrected = wall - offsetAt(guess);
  if (corrected !== guess) guess = corrected;
  return new Date(guess + ms);
}
