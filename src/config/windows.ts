/** Quiet hours as minutes of the local day; start > end means the window crosses midnight. */
export interface QuietHours {
  readonly startMinute: number;
  readonly endMinute: number;
}

/** At most `max` marketing messages per person in a rolling window of `windowHours` (N15). */
export interface FrequencyCap {
  readonly max: number;
  readonly windowHours: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function minuteOfDay(hhmm: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

export function parseQuietHours(text: string): Parsed<QuietHours> {
  const [from, to, ...rest] = text.split('-');
  const startMinute = from === undefined ? undefined : minuteOfDay(from.trim());
  const endMinute = to === undefined ? undefined : minuteOfDay(to.trim());
  if (rest.length > 0 || startMinute === undefined || endMinute === undefined) {
    return { ok: false, error: `"${text}" is not HH:MM-HH:MM (e.g. 21:00-09:00)` };
  }
  return { ok: true, value: { startMinute, endMinute } };
}

export function parseFrequencyCap(text: string): Parsed<FrequencyCap> {
  const m = /^(\d{1,4})\/(\d{1,4})([hd])$/.exec(text.trim());
  if (!m) return { ok: false, error: `"${text}" is not COUNT/WINDOW (e.g. 2/7d or 1/24h)` };
  const max = Number(m[1]);
  const windowHours = Number(m[2]) * (m[3] === 'd' ? 24 : 1);
  if (max < 1 || windowHours < 1 || windowHours > 24 * 366) {
    return { ok: false, error: `"${text}" needs a count of at least 1 and a window of 1h..366d` };
  }
  return { ok: true, value: { max, windowHours } };
}

/** Whether a local minute of day falls inside quiet hours. */
export function isQuiet(q: QuietHours, localMinute: number): boolean {
  if (q.startMinute === q.endMinute) return false;
  return q.startMinute < q.endMinute
    ? localMinute >= q.startMinute && localMinute < q.endMinute
    : localMinute >= q.startMinute || localMinute < q.endMinute;
}
