import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { daysLeft, formatDay, relativeDays } from '../../src/util/dates.js';
import { secretCodeExpiry } from '../../src/secrets/expiry.js';
import { describeDuration, parseDuration } from '../../src/util/duration.js';

describe('MMM d, yyyy', () => {
  it('shows the reference procedure example and dates in the local calendar', () => {
    expect(formatDay(new Date(2025, 9, 5))).toBe('Oct 5, 2025');
    expect(formatDay(new Date(2026, 0, 1, 0, 0, 1))).toBe('Jan 1, 2026');
    expect(formatDay(new Date(2026, 11, 31, 23, 59, 59))).toBe('Dec 31, 2026');
  });
});

/** Runs the expiry computation in another time zone (TZ is read when the process starts). */
function expiryIn(tz: string, iso: string): { expiry: string; shown: string } {
  const script = `
    import('${new URL('../../dist/secrets/expiry.js', import.meta.url).href}').then(async (m) => {
      const { formatDay } = await import('${new URL('../../dist/util/dates.js', import.meta.url).href}');
      const e = m.secretCodeExpiry(new Date('${iso}'));
      process.stdout.write(JSON.stringify({ expiry: e.toISOString(), shown: formatDay(e) }));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: tz } }).toString());
}

describe('Secret Code expiry: six months after it was generated', () => {
  it('adds six calendar months', () => {
    expect(expiryIn('UTC', '2025-04-05T10:00:00Z')).toEqual({ expiry: '2025-10-05T10:00:00.000Z', shown: 'Oct 5, 2025' });
  });

  it('clamps month ends: Aug 31 + 6 months is the last day of February, 29 in a leap year', () => {
    expect(expiryIn('UTC', '2025-08-31T12:00:00Z').shown).toBe('Feb 28, 2026');
    expect(expiryIn('UTC', '2027-08-31T12:00:00Z').shown).toBe('Feb 29, 2028');
    expect(expiryIn('UTC', '2026-03-31T12:00:00Z').shown).toBe('Sep 30, 2026');
  });

  it('keeps the local date and time across a DST change', () => {
    // New York: Jan 15 09:00 EST (UTC-5) + 6 months = Jul 15 09:00 EDT (UTC-4).
    expect(expiryIn('America/New_York', '2026-01-15T14:00:00Z')).toEqual({ expiry: '2026-07-15T13:00:00.000Z', shown: 'Jul 15, 2026' });
    // An evening in Sydney is the previous day in UTC: the date shown is the local one.
    expect(expiryIn('Australia/Sydney', '2026-05-31T20:00:00Z').shown).toBe('Dec 1, 2026');
  });

  it('computes in the current zone too', () => {
    expect(secretCodeExpiry(new Date(2026, 7, 31, 12)).getDate()).toBe(28);
  });
});

describe('days left', () => {
  // Local times: the days counted are the days between the dates a person sees.
  const now = new Date(2026, 10, 26, 9, 0);
  it('counts calendar days, so "in N days" agrees with the date shown', () => {
    expect(daysLeft(new Date(2027, 4, 26, 9, 0), now)).toBe(181);
    expect(relativeDays(new Date(2027, 4, 26, 9, 0), now)).toBe('in 181 days');
    // Two days and one hour ahead is the day after tomorrow: 2 days, not 3.
    expect(relativeDays(new Date(2026, 10, 28, 10, 0), now)).toBe('in 2 days');
    expect(relativeDays(new Date(2026, 10, 27, 1, 0), now)).toBe('in 1 day');
    expect(relativeDays(new Date(2026, 10, 26, 23, 0), now)).toBe('today');
    expect(relativeDays(now, now)).toBe('today');
    expect(relativeDays(new Date(2026, 10, 26, 1, 0), now)).toBe('today');
    expect(relativeDays(new Date(2026, 10, 25, 23, 0), now)).toBe('1 day ago');
    expect(relativeDays(new Date(2026, 10, 24, 12, 0), now)).toBe('2 days ago');
    expect(daysLeft(new Date(2026, 10, 25, 23, 0), now)).toBe(-1);
  });
});

describe('durations', () => {
  it('parses the forms scripts use', () => {
    expect(parseDuration('24h', '--grace')).toBe(86_400_000);
    expect(parseDuration('30d', '--x')).toBe(30 * 86_400_000);
    expect(parseDuration('1d12h', '--x')).toBe(36 * 3_600_000);
    expect(parseDuration('90m', '--x')).toBe(90 * 60_000);
    expect(parseDuration('2w', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('0', '--x')).toBe(0);
    expect(parseDuration(' 15S ', '--x')).toBe(15_000);
  });

  it('rejects anything else with an error that names the flag and the shape', () => {
    for (const bad of ['', 'h', '24', '1.5h', '-1h', '24 h', '1y', '24hours']) {
      expect(() => parseDuration(bad, '--grace')).toThrow(/--grace takes a duration such as 24h/);
    }
  });

  it('describes durations in words', () => {
    expect(describeDuration(86_400_000)).toBe('1 day');
    expect(describeDuration(30 * 86_400_000)).toBe('30 days');
    expect(describeDuration(36 * 3_600_000)).toBe('1 day 12 hours');
  });
});
