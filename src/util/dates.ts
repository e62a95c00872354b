import { differenceInCalendarDays } from 'date-fns/differenceInCalendarDays';
import { format } from 'date-fns/format';

/** Dates for people are always `MMM d, yyyy`, e.g. `Oct 5, 2025` (the reference procedure's format), local time. */
export const formatDay = (date: Date): string => format(date, 'MMM d, yyyy');

/**
 * Calendar days from `now` to `until` in the local time zone — the days between the dates people
 * see — negative once past: a code that expires later today has 0 days left.
 */
export const daysLeft = (until: Date, now: Date): number => differenceInCalendarDays(until, now);

/** "in 181 days", "in 1 day", "today", "1 day ago": counted like daysLeft. */
export function relativeDays(until: Date, now: Date): string {
  const n = daysLeft(until, now);
  if (n === 0) return 'today';
  if (n > 0) return `in ${n} day${n === 1 ? '' : 's'}`;
  return `${-n} day${n === -1 ? '' : 's'} ago`;
}
