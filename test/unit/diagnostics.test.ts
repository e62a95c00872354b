import { describe, expect, it } from 'vitest';
import { clockCheck } from '../../src/diagnostics/doctor.js';
import { explain, nearestCodes } from '../../src/diagnostics/explain.js';
import { proxyFor } from '../../src/diagnostics/network.js';
import { UsageError } from '../../src/errors.js';

describe('doctor: the clock check', () => {
  const server = 'Wed, 02 Dec 2026 14:00:00 GMT';
  const at = (offsetMs: number) => new Date(Date.parse(server) + offsetMs);

  it('passes up to 5 minutes either way and fails beyond, saying which way', () => {
    expect(clockCheck(server, at(300_000), 'login').status).toBe('pass');
    expect(clockCheck(server, at(-300_000), 'login').status).toBe('pass');
    const ahead = clockCheck(server, at(301_000), 'login');
    expect(ahead).toMatchObject({ status: 'fail', cause: 'clock-skew' });
    expect(ahead.summary).toMatch(/about 5 minutes ahead of login/);
    expect(clockCheck(server, at(-3_600_000), 'login').summary).toMatch(/about 1 hour behind login/);
  });

  it('is skipped without a Date header', () => {
    expect(clockCheck(undefined, new Date(), 'login').status).toBe('skip');
    expect(clockCheck('not a date', new Date(), 'login').status).toBe('skip');
  });
});

describe('explain', () => {
  it('reads AADSTS50011, 50011 and aadsts 50011 alike', () => {
    for (const input of ['AADSTS50011', '50011', 'aadsts 50011']) expect(explain(input).code).toBe('AADSTS50011');
  });

  it('names the nearest codes: by digits for numbers, by spelling for names', () => {
    expect(nearestCodes('50012', 2)).toEqual(['AADSTS50011', 'AADSTS500112']);
    expect(nearestCodes('7000223', 1)).toEqual(['AADSTS7000222']);
    expect(nearestCodes('QuarantineOnDemand', 1)).toEqual(['QuarantinedOnDemand']);
    expect(() => explain('AADSTS1')).toThrow(UsageError);
  });
});

describe('doctor: which proxy a host goes through', () => {
  const target = new URL('https://login.microsoftonline.com/');
  it('HTTPS_PROXY, then HTTP_PROXY; NO_PROXY exempts the host, its parent domain or everything', () => {
    expect(proxyFor(target, { HTTPS_PROXY: 'http://p:3128' })?.host).toBe('p:3128');
    expect(proxyFor(target, { HTTP_PROXY: 'p2:8080' })?.host).toBe('p2:8080');
    expect(proxyFor(target, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '.microsoftonline.com' })).toBeUndefined();
    expect(proxyFor(target, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'example.com, login.microsoftonline.com' })).toBeUndefined();
    expect(proxyFor(target, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '*' })).toBeUndefined();
    expect(proxyFor(target, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'microsoftonline.co' })?.host).toBe('p:3128');
    expect(proxyFor(target, {})).toBeUndefined();
  });
});
