import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/util/redact.js';
import { generateSecretCode } from '../../src/secrets/code.js';

describe('redaction of everything bound for stderr', () => {
  const r = new Redactor();
  r.add('my admin password');
  const code = generateSecretCode();
  const cases: [string, string][] = [
    [`code ${code} leaked`, code],
    ['Authorization: Bearer abc.def-ghi', 'abc.def-ghi'],
    ['id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature', 'eyJzdWIiOiIxIn0'],
    ['POST /token code=0.AXAAsecretcode&client_secret=s3cr3t~value&grant_type=authorization_code', '0.AXAAsecretcode'],
    ['client_secret=s3cr3t~value', 's3cr3t~value'],
    ['{"access_token":"at-123456","refresh_token":"rt-abcdef","token_type":"Bearer"}', 'at-123456'],
    ['{"refresh_token": "rt-abcdef"}', 'rt-abcdef'],
    ['the password my admin password was typed', 'my admin password'],
    ['code_verifier=verif1234567890', 'verif1234567890'],
    ['DIRSYNC_DATABASE_URL=postgres://dirsync:pg-S3cret@db.internal:5432/dirsync', 'pg-S3cret'],
    ['postgresql://app:p%40ss:w0rd@10.0.0.5/directory?sslmode=require', 'p%40ss:w0rd'],
  ];
  it.each(cases)('removes the secret from %s', (text, secret) => {
    const out = r.redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted');
  });

  it('keeps what support engineers need', () => {
    const text = 'AADSTS65004: User declined to consent. Trace ID: 0f1e Correlation ID: 7c2d-11 Timestamp: 2026-11-26 endpoint https://login.microsoftonline.us/tenant/oauth2/v2.0/token';
    expect(r.redact(text)).toBe(text);
    const location = 'the directory database postgres://dirsync@db.internal:5432/dirsync';
    expect(r.redact(location)).toBe(location);
  });
});
