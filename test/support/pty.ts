import * as pty from 'node-pty';
import { BIN, record } from './cli.js';

/** dirsync under a pseudo-terminal, for the prompts an admin sees. */
export class PtySession {
  private readonly term: pty.IPty;
  output = '';
  exitCode: Promise<number>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.term = pty.spawn(process.execPath, [BIN, ...args], {
      name: 'xterm-256color',
      cols: 160,
      rows: 50,
      env: env as Record<string, string>,
    });
    this.term.onData((d) => (this.output += d));
    this.exitCode = new Promise((resolve) =>
      this.term.onExit(({ exitCode }) => {
        // The terminal mixes both streams; the leak check reads it as what the admin saw.
        record(args, { stdout: this.output, stderr: '' });
        resolve(exitCode);
      }),
    );
  }

  /** The screen text without ANSI escapes. */
  get text(): string {
    // eslint-disable-next-line no-control-regex
    return this.output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const found = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    while (!found()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}. Screen so far:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits until `pattern` appears after everything seen so far. */
  async expectNext(pattern: string, timeoutMs = 15_000): Promise<void> {
    const seen = this.text.length;
    const deadline = Date.now() + timeoutMs;
    while (!this.text.slice(seen).includes(pattern) && !this.text.includes(pattern)) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}. Screen so far:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  write(data: string): void {
    this.term.write(data);
  }

  kill(): void {
    this.term.kill();
  }
}

export const KEY = { enter: '\r', down: '\u001b[B', up: '\u001b[A', ctrlC: '\u0003' };
