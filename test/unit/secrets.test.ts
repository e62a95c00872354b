import { describe, expect, it } from 'vitest';
import {
  checkSecretCodeShape,
  crc32,
  fingerprintSecretCode,
  generateSecretCode,
  hashSecretCode,
  SECRET_CODE_LENGTH,
  SECRET_CODE_PATTERN,
  verifySecretCode,
} from '../../src/secrets/code.js';
import { needsRenewal, secretCodeStatus } from '../../src/secrets/policy.js';
import type { SecretCodeRecord, SecretCodeStore } from '../../src/directory/store.js';

describe('Secret Code format', () => {
  it('has the dsync_ prefix, at most 100 characters, and a valid checksum', () => {
    const code = generateSecretCode();
    expect(code).toMatch(/^dsync_[0-9A-Za-z]{49}$/);
    expect(code.length).toBe(SECRET_CODE_LENGTH);
    expect(code.length).toBeLessThanOrEqual(100);
    expect(checkSecretCodeShape(code)).toBe('ok');
    expect(code.match(SECRET_CODE_PATTERN)).toEqual([code]);
  });

  it('carries at least 256 bits: 1,000 codes are all different and use the whole alphabet', () => {
    const codes = new Set(Array.from({ length: 1000 }, generateSecretCode));
    expect(codes.size).toBe(1000);
    const chars = new Set([...codes].join('').replace(/dsync_/g, ''));
    expect(chars.size).toBe(62);
    // 43 base62 characters hold log2(62) * 43 ≈ 256.03 bits.
    expect(Math.log2(62) * 43).toBeGreaterThanOrEqual(256);
  });

  it('catches a mistyped, truncated or foreign code offline', () => {
    const code = generateSecretCode();
    const i = 10;
    const typo = code.slice(0, i) + (code[i] === 'a' ? 'b' : 'a') + code.slice(i + 1);
    expect(checkSecretCodeShape(typo)).toBe('checksum');
    expect(checkSecretCodeShape(code.slice(0, -1))).toBe('malformed');
    expect(checkSecretCodeShape(`ghp_${code.slice(6)}`)).toBe('malformed');
    expect(checkSecretCodeShape(code.replace(/.$/, '!'))).toBe('malformed');
  });

  it('uses the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('stores a SHA-256 hash and shows a fingerprint that does not reveal the random part', () => {
    const code = generateSecretCode();
    expect(hashSecretCode(code)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecretCode(code)).not.toContain(code.slice(6, 20));
    const fp = fingerprintSecretCode(code);
    expect(fp).toBe(`dsync_…${code.slice(-4)}`);
    expect(fp).not.toContain(code.slice(6, 49));
  });
});

const record = (over: Partial<SecretCodeRecord> = {}): SecretCodeRecord => ({
  id: 1,
  fingerprint: 'dsync_…abcd',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-07-01T00:00:00.000Z',
  supersededAt: null,
  graceUntil: null,
  revokedAt: null,
  lastUsedAt: null,
  ...over,
});

describe('Secret Code state', () => {
  const warn = 30 * 86_400_000;
  it('is ok, expiring inside the window, expired after, none when never issued or revoked', () => {
    expect(secretCodeStatus(record(), new Date('2026-03-01T00:00:00Z'), warn).state).toBe('ok');
    const expiring = secretCodeStatus(record(), new Date('2026-06-10T00:00:00Z'), warn);
    expect(expiring).toMatchObject({ state: 'expiring', daysLeft: 21, expiresOn: 'Jul 1, 2026' });
    expect(secretCodeStatus(record(), new Date('2026-07-01T00:00:00Z'), warn)).toMatchObject({ state: 'expired', reason: 'expired' });
    expect(secretCodeStatus(undefined, new Date(), warn)).toMatchObject({ state: 'none', reason: 'never-issued' });
    expect(secretCodeStatus(record({ revokedAt: '2026-02-01T00:00:00Z' }), new Date('2026-03-01T00:00:00Z'), warn)).toMatchObject({
      state: 'none',
      reason: 'revoked',
    });
  });

  it('needs renewal when none is valid or the code expires within the window', () => {
    const now = new Date('2026-06-10T00:00:00Z');
    expect(needsRenewal(undefined, now, warn)).toBe(true);
    expect(needsRenewal(record(), now, warn)).toBe(true);
    expect(needsRenewal(record(), now, 7 * 86_400_000)).toBe(false);
    expect(needsRenewal(record({ revokedAt: now.toISOString() }), now, 0)).toBe(true);
  });
});

describe('verifySecretCode', () => {
  const code = generateSecretCode();
  const store = (rec?: SecretCodeRecord): SecretCodeStore =>
    ({
      findSecretCodeByHash: async (hash: string) => (rec && hash === hashSecretCode(code) ? { ...rec, hash } : undefined),
    }) as unknown as SecretCodeStore;
  const now = new Date('2026-03-01T00:00:00Z');

  it('accepts a current code and names why others are refused', async () => {
    expect((await verifySecretCode(store(record()), code, now)).valid).toBe(true);
    expect(await verifySecretCode(store(record()), undefined, now)).toMatchObject({ valid: false, reason: 'missing' });
    expect(await verifySecretCode(store(record()), 'Bearer nonsense', now)).toMatchObject({ reason: 'malformed' });
    expect(await verifySecretCode(store(undefined), code, now)).toMatchObject({ reason: 'unknown' });
    expect(await verifySecretCode(store(record({ expiresAt: '2026-02-01T00:00:00Z' })), code, now)).toMatchObject({ reason: 'expired' });
    expect(await verifySecretCode(store(record({ revokedAt: '2026-02-01T00:00:00Z' })), code, now)).toMatchObject({ reason: 'revoked' });
    const replaced = record({ supersededAt: '2026-02-28T00:00:00Z', graceUntil: '2026-02-28T12:00:00Z' });
    expect(await verifySecretCode(store(replaced), code, now)).toMatchObject({ reason: 'replaced' });
    const inGrace = record({ supersededAt: '2026-02-28T00:00:00Z', graceUntil: '2026-03-01T12:00:00Z' });
    expect((await verifySecretCode(store(inGrace), code, now)).valid).toBe(true);
  });
});
