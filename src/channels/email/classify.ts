import { permanent, retry, type SendResult, unknown } from '../send-result.js';

/** What nodemailer tells about a failed send: its error fields, read defensively. */
export interface SmtpFailure {
  /** nodemailer's code: EENVELOPE, EMESSAGE, ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, EAUTH... */
  readonly code?: string;
  /** The SMTP reply code, when the server answered. */
  readonly responseCode?: number;
  /** The command the reply answered: 'RCPT TO', 'DATA', 'MAIL FROM', 'CONN'... */
  readonly command?: string;
  readonly message: string;
}

export function smtpFailureOf(error: unknown): SmtpFailure {
  if (!(error instanceof Error)) return { message: String(error) };
  const e = error as Error & { code?: unknown; responseCode?: unknown; command?: unknown };
  return {
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.responseCode === 'number' ? { responseCode: e.responseCode } : {}),
    ...(typeof e.command === 'string' ? { command: e.command } : {}),
  };
}

/** RFC 3463 enhanced status code in the reply text, e.g. "5.1.1". */
function enhancedStatus(message: string): string | undefined {
  return /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(message)?.[1];
}

/** 5.1.x (bad address) and 5.2.x (mailbox unusable) are about the recipient; 5.7.x and the rest are not. */
function isAboutRecipient(failure: SmtpFailure): boolean {
  const status = enhancedStatus(failure.message);
  if (status !== undefined) return status.startsWith('5.1.') || status.startsWith('5.2.');
  // Without an enhanced code, a refusal at RCPT TO is the recipient's.
  return failure.command === 'RCPT TO';
}

/**
 * Classifies a failed SMTP send (docs/providers.md). An explicit reply decides by its code: 4xx
 * (and 503, a refused command) means not accepted; 5xx is permanent, a hard bounce when it is
 * about the recipient. Without a reply (connection refused, dropped, timed out) it depends on
 * whether the whole message went into DATA: a server only accepts a message once it has its end,
 * so until then a retry cannot duplicate it; after that it may have been accepted.
 *
 * @param messageFullyStreamed the DATA stream consumed the whole message (see DataStreamWatch)
 */
export function classifySmtpFailure(failure: SmtpFailure, messageFullyStreamed: boolean): SendResult {
  const { responseCode } = failure;
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 600) {
    const status = enhancedStatus(failure.message);
    const code = status === undefined ? String(responseCode) : `${responseCode} ${status}`;
    const detail = `smtp ${failure.command ?? ''}: ${failure.message}`;
    if (responseCode < 500 || responseCode === 503) return retry(code, detail);
    const recipientStage = failure.command === 'RCPT TO' || failure.command === 'DATA';
    return permanent(recipientStage && isAboutRecipient(failure) ? 'hard_bounce' : 'rejected', code, detail);
  }
  const code = failure.code ?? 'smtp';
  if (messageFullyStreamed)
    return unknown(code, `smtp: no reply after the whole message was sent: ${failure.message}`);
  return retry(code, `smtp: the message was not sent: ${failure.message}`);
}
