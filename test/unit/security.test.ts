import { describe, expect, it } from 'vitest';
import { hashPassword, lockedUntil, recordAttempt, validateNewPassword, verifyPassword } from '../../src/security/password.js';
import type { SecurityConfig } from '../../src/config/store.js';

describe('admin password', () => {
  it('keeps only a salted scrypt hash and verifies it', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(hash).not.toContain('correct horse');
    expect(await hashPassword('correct horse battery')).not.toBe(hash); // random salt
    expect(await verifyPassword(hash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword('garbage', 'x')).toBe(false);
  });

  it('needs at least 12 characters', () => {
    expect(() => validateNewPassword('short-pass!')).toThrow(/at least 12 characters/);
    expect(() => validateNewPassword('twelve-chars')).not.toThrow();
  });
});

describe('lockout', () => {
  const start: SecurityConfig = { passwordHash: 'x', setAt: '2026-01-01T00:00:00Z', failedAttempts: 0 };
  const t0 = new Date('2026-11-26T10:00:00Z');

  it('locks for 15 minutes after 5 wrong passwords in a row', () => {
    let s = start;
    for (let i = 1; i <= 4; i++) {
      s = recordAttempt(s, false, t0);
      expect(s.failedAttempts).toBe(i);
      expect(lockedUntil(s, t0)).toBeUndefined();
    }
    s = recordAttempt(s, false, t0);
    expect(lockedUntil(s, t0)?.toISOString()).toBe('2026-11-26T10:15:00.000Z');
    expect(lockedUntil(s, new Date('2026-11-26T10:14:59Z'))).toBeDefined();
    expect(lockedUntil(s, new Date('2026-11-26T10:15:00Z'))).toBeUndefined();
    // After the lock runs out, a new wrong password starts a fresh count.
    const after = recordAttempt(s, false, new Date('2026-11-26T10:16:00Z'));
    expect(after.failedAttempts).toBe(1);
    expect(lockedUntil(after, new Date('2026-11-26T10:16:00Z'))).toBeUndefined();
  });

  it('a right password resets the count', () => {
    const s = recordAttempt(recordAttempt(start, false, t0), false, t0);
    expect(recordAttempt(s, true, t0)).toMatchObject({ failedAttempts: 0, lockedUntil: undefined });
  });
});
