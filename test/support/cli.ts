import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'dirsync.js');

/**
 * Where everything every spawned dirsync printed is kept, for the leak check of test/leak (set by
 * test/support/run-tests.mjs, i.e. `npm test`; unset when a single test file runs alone).
 */
export const TRANSCRIPT_DIR = process.env.DIRSYNC_TEST_TRANSCRIPTS;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws if it is not exactly one JSON document). */
  json<T = any>(): T;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** A fresh config dir for one test. */
export function tempConfigDir(prefix = 'dirsync-e2e-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The environment of a CI job: no TTY, no colour forced, the given config dir, nothing inherited that could leak in. */
export function baseEnv(configDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: configDir,
    TZ: 'UTC',
    LANG: 'C.UTF-8',
    DIRSYNC_CONFIG_DIR: configDir,
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Adds one process's output to the transcripts. */
export function record(args: string[], result: { stdout: string; stderr: string }): void {
  if (!TRANSCRIPT_DIR) return;
  const file = path.join(TRANSCRIPT_DIR, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  fs.writeFileSync(file, `$ dirsync ${args.join(' ')}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n`);
}

/** Runs `bin/dirsync.js args` as a CI script would: no TTY, stdin from `input` (or closed). */
export function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      record(args, { stdout, stderr });
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json: () => JSON.parse(stdout),
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Remembers secrets a test saw (issued Secret Codes, passwords) for the suite-wide leak check. */
export function rememberSecret(secret: string): void {
  if (!TRANSCRIPT_DIR) return;
  fs.appendFileSync(path.join(TRANSCRIPT_DIR, 'secrets.list'), `${secret}\n`);
}
