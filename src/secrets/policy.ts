import type { SecretCodeRecord } from '../directory/store.js';
import { daysLeft, formatDay } from '../util/dates.js';
import { isRecordValid } from './format.js';

export type SecretCodeState = 'ok' | 'expiring' | 'expired' | 'none';

export const DEFAULT_WARN_MS = 30 * 86_400_000;
export const DEFAULT_GRACE_MS = 24 * 3_600_000;

export interface SecretCodeStatus {
  state: SecretCodeState;
  /** Why there is no valid code: never issued, expired, or revoked. */
  reason?: 'never-issued' | 'expired' | 'revoked';
  fingerprint: string | null;
  createdAt: string | null;
  expiresAt: string | null;
  expiresOn: string | null;
  daysLeft: number | null;
  lastUsedAt: string | null;
}

/** The state of the current code at `now`, with `warnMs` as the "expiring" window. */
export function secretCodeStatus(current: SecretCodeRecord | undefined, now: Date, warnMs: number): SecretCodeStatus {
  if (!current) {
    return { state: 'none', reason: 'never-issued', fingerprint: null, createdAt: null, expiresAt: null, expiresOn: null, daysLeft: null, lastUsedAt: null };
  }
  const expires = new Date(current.expiresAt);
  const validity = isRecordValid(current, now);
  const base = {
    fingerprint: current.fingerprint,
    createdAt: current.createdAt,
    expiresAt: current.expiresAt,
    expiresOn: formatDay(expires),
    daysLeft: daysLeft(expires, now),
    lastUsedAt: current.lastUsedAt,
  };
  if (!validity.valid) {
    return { state: validity.reason === 'revoked' ? 'none' : 'expired', reason: validity.reason === 'revoked' ? 'revoked' : 'expired', ...base };
  }
  const state = expires.getTime() - now.getTime() <= warnMs ? 'expiring' : 'ok';
  return { state, ...base };
}

/** `--if-expiring-within`: renew when there is no valid code, or it expires within the window. */
export function needsRenewal(current: SecretCodeRecord | undefined, now: Date, withinMs: number): boolean {
  if (!current || !isRecordValid(current, now).valid) return true;
  return Date.parse(current.expiresAt) - now.getTime() <= withinMs;
}
