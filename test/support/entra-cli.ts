import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BIN, record, ROOT, type RunResult } from './cli.js';

export interface Running {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves when stderr matches. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<RunResult>;
}

/** Spawns dirsync (or the harness) with `args`: no TTY, like a CI job. */
export function startDirsync(args: string[], options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; nodeArgs?: string[] }): Running {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { env: options.env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const w of [...waiters]) {
      if (w.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      record(args, { stdout, stderr });
      resolve({ code, signal, stdout, stderr, json: () => JSON.parse(stdout) });
    });
  });
  child.stdin!.end(options.input ?? '');
  return {
    child,
    stderr: () => stderr,
    waitForStderr: (pattern, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        if (pattern.test(stderr)) return resolve();
        const t = setTimeout(() => reject(new Error(`stderr never matched ${pattern}:\n${stderr}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(t), resolve()) });
      }),
    done,
  };
}

export function runDirsync(args: string[], options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; nodeArgs?: string[] }): Promise<RunResult> {
  return startDirsync(args, options).done;
}
