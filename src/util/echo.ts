/**
 * Values a user typed, fit for an error message. A value is echoed whole when it is short; a long
 * one (a 100 KB --tenant-id pasted by mistake) shows its first characters and its length, so an
 * error stays one readable line in a terminal or a CI log. Control characters become "?" so an
 * echoed value cannot move the cursor or forge a line.
 */
export const ECHO_MAX = 60;

export function echo(value: string, max = ECHO_MAX): string {
  const clean = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  if (value.length <= max) return clean(value);
  let head = value.slice(0, max);
  // Never cut a surrogate pair in half.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return `${clean(head)}… (${value.length} characters)`;
}

/** `"value"`, or `"first 60 characters…" (102400 characters)` for a long one. */
export function quoted(value: string, max = ECHO_MAX): string {
  if (value.length <= max) return `"${echo(value, max)}"`;
  const shown = echo(value, max);
  const cut = shown.lastIndexOf('… (');
  return `"${shown.slice(0, cut)}…"${shown.slice(cut + 1)}`;
}

/**
 * The output layer's safety net for messages that quote input without `echo` (a file name inside
 * an operating-system error, a value inside a library's message): every run of more than
 * `LONG_RUN` non-space characters is shortened, and the whole text is capped.
 */
const LONG_RUN = 200;
const LONG_RUN_RE = new RegExp(`\\S{${LONG_RUN + 1},}`, 'g');
const MAX_MESSAGE = 4000;

export function boundEchoes(text: string): string {
  let out = text.length > LONG_RUN ? text.replace(LONG_RUN_RE, (run) => echo(run)) : text;
  if (out.length > MAX_MESSAGE) out = `${out.slice(0, MAX_MESSAGE)}… (${out.length} characters)`;
  return out;
}
