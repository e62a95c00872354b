import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSCRIPT_DIR } from '../support/cli.js';

/**
 * Runs after the whole suite (`npm test`): everything every spawned dirsync printed — stdout,
 * stderr, --debug — is in TRANSCRIPT_DIR, and every secret the tests saw is in secrets.list.
 * A Secret Code may appear only on the stdout of the one command that issued it; a password,
 * token or authorization code nowhere at all.
 */
describe('no secret is ever printed', () => {
  if (!TRANSCRIPT_DIR) throw new Error('Run the leak check through `npm test` (test/support/run-tests.mjs).');
  const dir = TRANSCRIPT_DIR;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.txt'));
  const transcripts = files.map((f) => {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const [head, rest = ''] = text.split('\n--- stdout\n');
    const [stdout = '', stderr = ''] = rest.split('\n--- stderr\n');
    return { file: f, command: head, stdout, stderr };
  });
  const listFile = path.join(dir, 'secrets.list');
  const secrets = fs.existsSync(listFile) ? [...new Set(fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean))] : [];

  it('the suite ran dirsync and saw secrets to look for', () => {
    expect(transcripts.length).toBeGreaterThan(50);
    expect(secrets.filter((s) => s.startsWith('dsync_')).length).toBeGreaterThan(5);
  });

  it('no secret appears on stderr, and a Secret Code only once, on the stdout of its renewal', () => {
    const leaks: string[] = [];
    for (const secret of secrets) {
      const inStderr = transcripts.filter((t) => t.stderr.includes(secret));
      const inStdout = transcripts.filter((t) => t.stdout.includes(secret));
      for (const t of inStderr) leaks.push(`${secret.slice(0, 10)}… on stderr of ${t.command}`);
      const allowedOnStdout = secret.startsWith('dsync_') ? 1 : 0;
      if (inStdout.length > allowedOnStdout) {
        leaks.push(`${secret.slice(0, 10)}… on stdout of ${inStdout.map((t) => t.command).join(' | ')}`);
      }
      for (const t of inStdout) {
        if (secret.startsWith('dsync_') && !/token renew|demo/.test(t.command)) leaks.push(`${secret.slice(0, 10)}… printed by ${t.command}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('doctor, explain and the support bundle were among them, and print no Secret Code, bearer token or JWT even on stdout', () => {
    const ran = (re: RegExp) => transcripts.filter((t) => re.test(t.command));
    expect(ran(/^\$ dirsync doctor/).length).toBeGreaterThan(10);
    expect(ran(/^\$ dirsync explain/).length).toBeGreaterThan(2);
    expect(ran(/^\$ dirsync doctor --bundle \(the bundle file\)/).length).toBeGreaterThan(0);
    const patterns = [/dsync_[0-9A-Za-z]{49}/, /Bearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, /scrypt\$|"passwordHash"/];
    const hits = ran(/^\$ dirsync (doctor|explain)/).flatMap((t) => patterns.filter((p) => p.test(t.stdout + t.stderr)).map((p) => `${p} in ${t.command}`));
    expect(hits).toEqual([]);
  });

  it('no Secret Code, bearer token or JWT ever appears on stderr or in --debug output', () => {
    const patterns = [/dsync_[0-9A-Za-z]{49}/, /Bearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./];
    const hits = transcripts.flatMap((t) => patterns.filter((p) => p.test(t.stderr)).map((p) => `${p} in stderr of ${t.command}`));
    expect(hits).toEqual([]);
  });
});
