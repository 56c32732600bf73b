/** Opt-out and opt-in keywords of inbound SMS (DESIGN: consent ledger), incl. Latvian ATTEIKT. */
export const STOP_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'ATTEIKT'] as const;
export const START_KEYWORDS = ['START', 'UNSTOP'] as const;

export type Keyword = 'stop' | 'start';

/** The keyword a whole message is, case-insensitive and trimmed; anything else is not a keyword. */
export function keywordOf(body: string): Keyword | undefined {
  const word = body.trim().toUpperCase();
  if ((STOP_KEYWORDS as readonly string[]).includes(word)) return 'stop';
  if ((START_KEYWORDS as readonly string[]).includes(word)) return 'start';
  return undefined;
}
