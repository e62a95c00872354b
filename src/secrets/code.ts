import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecretCodeRecord, SecretCodeStore } from '../directory/store.js';

import { RANDOM_CHARS, SECRET_CODE_LENGTH, SECRET_CODE_PREFIX, isRecordValid, type SecretCodeValidity } from './format.js';

export * from './format.js';

const RANDOM_BYTES = 32;
const CHECK_CHARS = 6;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(value: bigint, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function generateSecretCode(): string {
  const random = base62(BigInt(`0x${randomBytes(RANDOM_BYTES).toString('hex')}`), RANDOM_CHARS);
  return `${SECRET_CODE_PREFIX}${random}${base62(BigInt(crc32(random)), CHECK_CHARS)}`;
}

export type SecretCodeShape = 'ok' | 'malformed' | 'checksum';

/** Offline check: the right prefix, length, alphabet and checksum. */
export function checkSecretCodeShape(code: string): SecretCodeShape {
  if (code.length !== SECRET_CODE_LENGTH || !code.startsWith(SECRET_CODE_PREFIX)) return 'malformed';
  const body = code.slice(SECRET_CODE_PREFIX.length);
  if (!/^[0-9A-Za-z]+$/.test(body)) return 'malformed';
  const random = body.slice(0, RANDOM_CHARS);
  const check = body.slice(RANDOM_CHARS);
  return base62(BigInt(crc32(random)), CHECK_CHARS) === check ? 'ok' : 'checksum';
}

/** What the store keeps: SHA-256 of the code (it has 256 bits of entropy, so no slow hash is needed). */
export function hashSecretCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Shown instead of the code: the prefix and the last four characters, like the code's checksum tail. */
export function fingerprintSecretCode(code: string): string {
  return `${SECRET_CODE_PREFIX}…${code.slice(-4)}`;
}

/**
 * Checks a presented code (e.g. a SCIM bearer token) against the store. The lookup is by hash;
 * the final comparison of hashes is constant-time.
 */
export async function verifySecretCode(
  store: SecretCodeStore,
  presented: string | undefined,
  now: Date,
): Promise<SecretCodeValidity> {
  if (!presented) return { valid: false, reason: 'missing' };
  if (checkSecretCodeShape(presented) !== 'ok') return { valid: false, reason: 'malformed' };
  const hash = hashSecretCode(presented);
  const record = await store.findSecretCodeByHash(hash);
  if (!record || !timingSafeEqual(Buffer.from(hash, 'hex'), Buffer.from(record.hash, 'hex'))) {
    return { valid: false, reason: 'unknown' };
  }
  return isRecordValid(record, now);
}
