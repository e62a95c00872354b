import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { SecurityConfig } from '../config/store.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_FAILED_ATTEMPTS = 5;
export const LOCKOUT_MS = 15 * 60_000;

const PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export function validateNewPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`The admin password must be at least ${MIN_PASSWORD_LENGTH} characters long.`, {
      hint: 'Choose a longer password (a passphrase of a few words works well).',
    });
  }
}

/** `scrypt$N$r$p$salt$hash` with a random 16-byte salt; the password itself is never kept. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: 128 * PARAMS.N * PARAMS.r * 2 });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const N = Number(n);
  const R = Number(r);
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N,
    r: R,
    p: Number(p),
    maxmem: 128 * N * R * 2,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** When the check is locked at `now`, the moment it opens again. */
export function lockedUntil(security: SecurityConfig, now: Date): Date | undefined {
  if (!security.lockedUntil) return undefined;
  const until = new Date(security.lockedUntil);
  return until.getTime() > now.getTime() ? until : undefined;
}

/** The security state after one attempt: a success clears the count; the fifth failure in a row locks. */
export function recordAttempt(security: SecurityConfig, ok: boolean, now: Date): SecurityConfig {
  if (ok) return { ...security, failedAttempts: 0, lockedUntil: undefined };
  // A lock that has run out starts a fresh count.
  const previous = security.lockedUntil && !lockedUntil(security, now) ? 0 : security.failedAttempts;
  const failedAttempts = previous + 1;
  if (failedAttempts >= MAX_FAILED_ATTEMPTS) {
    return { ...security, failedAttempts, lockedUntil: new Date(now.getTime() + LOCKOUT_MS).toISOString() };
  }
  return { ...security, failedAttempts, lockedUntil: undefined };
}
