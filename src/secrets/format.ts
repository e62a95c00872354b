import type { SecretCodeRecord } from '../directory/store.js';

/**
 * Secret Code format: `dsync_` + 43 base62 characters (256 bits from the OS CSPRNG) + 6 base62
 * characters of CRC-32 over the random part. 55 characters in all. The prefix lets secret scanners
 * find a leaked code; the checksum catches a mistyped or truncated one without a database.
 * This module needs no crypto, so commands that only read state (`token status`) start fast.
 */
export const SECRET_CODE_PREFIX = 'dsync_';
export const RANDOM_CHARS = 43; // ceil(256 / log2(62))
export const SECRET_CODE_LENGTH = SECRET_CODE_PREFIX.length + RANDOM_CHARS + 6;
/** Matches a whole code anywhere in text (used to redact output). */
export const SECRET_CODE_PATTERN = /dsync_[0-9A-Za-z]{49}/g;

export type SecretCodeValidity =
  | { valid: true; record: SecretCodeRecord }
  | { valid: false; reason: 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked' | 'replaced'; record?: SecretCodeRecord };

/** Whether `record` is still accepted at `now`: not revoked, not expired, within grace if replaced. */
export function isRecordValid(record: SecretCodeRecord, now: Date): SecretCodeValidity {
  if (record.revokedAt) return { valid: false, reason: 'revoked', record };
  if (Date.parse(record.expiresAt) <= now.getTime()) return { valid: false, reason: 'expired', record };
  if (record.graceUntil && Date.parse(record.graceUntil) <= now.getTime()) {
    return { valid: false, reason: 'replaced', record };
  }
  return { valid: true, record };
}
