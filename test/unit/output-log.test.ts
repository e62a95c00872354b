import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context.js';
import { generateSecretCode } from '../../src/secrets/code.js';
import { Sink } from '../support/sink.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('the request log (Output.log): batched per turn, redacted, one line per entry', () => {
  const make = () => {
    const stderr = new Sink();
    const ctx = createContext({ configDir: '/nonexistent' }, { stdin: new PassThrough(), stdout: new Sink(), stderr, env: {} });
    return { out: ctx.out, stderr };
  };

  it('writes a burst of lines once per turn, each redacted as it would be on its own', async () => {
    const { out, stderr } = make();
    const code = generateSecretCode();
    out.log('GET /scim/v2/Users 401 0.3ms auth=unknown Authorization: Bearer');
    out.log('POST /scim/v2/Users 201 1.0ms');
    out.log(`GET /scim/v2/Users/${code} 404 0.2ms`);
    expect(stderr.text).toBe(''); // not yet: gathered until the end of the turn
    await turn();
    await turn();
    const lines = stderr.text.split('\n');
    expect(lines).toEqual([
      'GET /scim/v2/Users 401 0.3ms auth=unknown Authorization: Bearer',
      // The redaction of the previous line's "Bearer" does not reach into this line.
      'POST /scim/v2/Users 201 1.0ms',
      'GET /scim/v2/Users/dsync_[redacted] 404 0.2ms',
      '',
    ]);
  });

  it('folds a line break inside an entry, so one entry is one line (no forged log lines)', async () => {
    const { out, stderr } = make();
    out.log('GET /x 400 0.1ms error=Bad: first\r\n2026-01-01T00:00:00.000Z POST /forged 201 0.1ms');
    await turn();
    await turn();
    expect(stderr.text.split('\n')).toHaveLength(2);
    expect(stderr.text).toContain('first 2026-01-01T00:00:00.000Z POST /forged');
  });

  it('writes pending log lines before any other message', async () => {
    const { out, stderr } = make();
    out.log('GET /healthz 200 0.1ms');
    out.warn('something happened');
    expect(stderr.text.indexOf('GET /healthz')).toBeLessThan(stderr.text.indexOf('something happened'));
    expect(stderr.text.indexOf('GET /healthz')).toBeGreaterThanOrEqual(0);
  });
});
