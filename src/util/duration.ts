import { UsageError } from '../errors.js';
import { quoted } from './echo.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration such as `24h`, `30d`, `1d12h`, `90m`, `2w` or `0` into milliseconds.
 * `flag` names the option in the error so the user knows what to fix.
 */
export function parseDuration(text: string, flag: string): number {
  const value = text.trim().toLowerCase();
  if (value === '0') return 0;
  const re = /(\d+)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(value)) !== null) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = re.lastIndex;
  }
  if (value.length === 0 || consumed !== value.length || !Number.isSafeInteger(total)) {
    throw new UsageError(`${flag} takes a duration such as 24h, 30d, 1d12h or 0; got ${quoted(text)}.`, {
      hint: 'Units: s (seconds), m (minutes), h (hours), d (days), w (weeks).',
    });
  }
  return total;
}

/** A duration in words for people: "24 hours", "30 days", "1 day 12 hours". */
export function describeDuration(ms: number): string {
  if (ms === 0) return '0 seconds';
  const parts: string[] = [];
  const units: [string, number][] = [
    ['day', UNIT_MS.d!],
    ['hour', UNIT_MS.h!],
    ['minute', UNIT_MS.m!],
    ['second', UNIT_MS.s!],
  ];
  let rest = ms;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    }
  }
  return parts.length ? parts.join(' ') : `${ms} ms`;
}
