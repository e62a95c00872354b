/**
 * Dates for people are always `MMM d, yyyy`, e.g. `Oct 5, 2025` (the reference procedure's format),
 * in the local time zone. Written by hand rather than with date-fns `format` because `token status`
 * must start fast; test/unit/dates.test.ts checks it against date-fns `format(d, 'MMM d, yyyy')`.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function formatDay(date: Date): string {
  return `${MONTHS[date.getMonth()]} ${date.getDate()}, ${String(date.getFullYear()).padStart(4, '0')}`;
}

const DAY_MS = 86_400_000;

/**
 * Whole days until `until`: rounded up while in the future (a code with 3 hours left has 1 day
 * left), whole days ago once past (3 hours ago is 0, "today").
 */
export function daysLeft(until: Date, now: Date): number {
  const diff = until.getTime() - now.getTime();
  return diff >= 0 ? Math.ceil(diff / DAY_MS) : -Math.floor(-diff / DAY_MS) || 0;
}

/** "in 181 days", "in 1 day", "today", "1 day ago". */
export function relativeDays(until: Date, now: Date): string {
  const n = daysLeft(until, now);
  if (n === 0) return 'today';
  if (n > 0) return `in ${n} day${n === 1 ? '' : 's'}`;
  return `${-n} day${n === -1 ? '' : 's'} ago`;
}
