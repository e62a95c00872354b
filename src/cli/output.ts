import { DirsyncError, ExitCode, type ExitCodeValue } from '../errors.js';
import { boundEchoes } from '../util/echo.js';
import { Redactor } from '../util/redact.js';
import { colorLevel, createStyle, visibleLength, type Style } from './style.js';

export interface OutputStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface OutputOptions {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  json: boolean;
  debug: boolean;
  color: boolean;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Colours the padded cell on a terminal. */
  paint?: (row: T, cell: string) => string;
}

/**
 * The only place that writes to stdout and stderr. stdout carries results (a table, text, or one
 * JSON document with --json); everything for people — progress, warnings, errors, --debug — goes to
 * stderr and passes through the redactor first.
 */
export class Output {
  readonly json: boolean;
  readonly debugEnabled: boolean;
  /** chalk for stderr (messages) and stdout (results), each at the colour level of its stream. */
  readonly style: Style;
  readonly resultStyle: Style;
  readonly redactor = new Redactor();
  private readonly stdout: OutputStream;
  private readonly stderr: OutputStream;

  constructor(options: OutputOptions) {
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.json = options.json;
    this.debugEnabled = options.debug;
    this.style = createStyle(colorLevel(options.stderr, options.env, options.color));
    this.resultStyle = createStyle(options.json ? 0 : colorLevel(options.stdout, options.env, options.color));
  }

  get stdoutIsTTY(): boolean {
    return Boolean(this.stdout.isTTY);
  }

  /** Registers a literal (a password typed in) that must never be printed to stderr. */
  secret(value: string | undefined): void {
    this.redactor.add(value);
  }

  // --- results (stdout) ------------------------------------------------------------------------

  /** Prints a command's result: `data` as JSON with --json, else the human text. */
  result(data: unknown, human: () => string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else {
      const text = human();
      if (text) this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** Writes to stdout and waits for the pipe to drain, so streaming 100k rows keeps memory flat. */
  async writeResult(chunk: string): Promise<void> {
    if (!this.stdout.write(chunk) && this.stdout.once) {
      await new Promise<void>((resolve) => this.stdout.once!('drain', resolve));
    }
  }

  /**
   * Streams rows as they come: one JSON array with --json; a table on a terminal (column widths
   * from the first rows); tab-separated values when stdout is a pipe. Returns how many rows.
   */
  async streamRows<T>(rows: AsyncIterable<T>, columns: Column<T>[], toJson: (row: T) => unknown): Promise<number> {
    let count = 0;
    // Rows are written in chunks of about 64 KiB: one write per row costs a system call per row.
    const CHUNK = 65_536;
    if (this.json) {
      let text = '[';
      for await (const row of rows) {
        text += `${count++ === 0 ? '\n  ' : ',\n  '}${JSON.stringify(toJson(row))}`;
        if (text.length >= CHUNK) {
          await this.writeResult(text);
          text = '';
        }
      }
      await this.writeResult(`${text}${count ? '\n]\n' : ']\n'}`);
      return count;
    }
    if (!this.stdout.isTTY) {
      let text = '';
      for await (const row of rows) {
        count++;
        text += `${columns.map((c) => c.value(row).replace(/[\t\n]/g, ' ')).join('\t')}\n`;
        if (text.length >= CHUNK) {
          await this.writeResult(text);
          text = '';
        }
      }
      if (text) await this.writeResult(text);
      return count;
    }
    const BATCH = 500;
    let batch: T[] = [];
    let widths: number[] | undefined;
    const flush = async () => {
      if (!widths) {
        widths = columns.map((c) => Math.max(c.header.length, ...batch.map((r) => c.value(r).length)));
        await this.writeResult(
          `${columns.map((c, i) => this.resultStyle.bold(c.header.padEnd(widths![i]!))).join('  ').trimEnd()}\n`,
        );
      }
      let text = '';
      for (const row of batch) {
        text += `${columns
          .map((c, i) => {
            const cell = c.value(row).padEnd(widths![i]!);
            return c.paint && this.resultStyle.level > 0 ? c.paint(row, cell) : cell;
          })
          .join('  ')
          .trimEnd()}\n`;
      }
      batch = [];
      await this.writeResult(text);
    };
    for await (const row of rows) {
      count++;
      batch.push(row);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length || (!widths && count)) await flush();
    return count;
  }

  /** A two-column "label  value" block for one-screen summaries. */
  keyValues(pairs: [string, string][]): string {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `${this.resultStyle.dim(`${k}:`.padEnd(width + 1))}  ${v}`).join('\n');
  }

  // --- messages (stderr) -----------------------------------------------------------------------

  private say(text: string): void {
    this.flushLog();
    this.stderr.write(`${this.redactor.redact(text)}\n`);
  }

  private logBuffer = '';
  private logFlushScheduled = false;

  /**
   * A log line (e.g. one per request of `dirsync serve`), redacted like every message. Lines are
   * gathered and written once per turn of the event loop — one system call for a burst of
   * requests instead of one each — and always before any other message. The burst is redacted as
   * one text (the patterns stop at line ends, so this redacts exactly what line by line would).
   */
  log(text: string): void {
    this.logBuffer += `${text.replace(/[\r\n]+/g, ' ')}\n`;
    if (this.logBuffer.length >= 65_536) this.flushLog();
    else if (!this.logFlushScheduled) {
      this.logFlushScheduled = true;
      setImmediate(() => this.flushLog());
    }
  }

  flushLog(): void {
    this.logFlushScheduled = false;
    if (!this.logBuffer) return;
    const text = this.redactor.redact(this.logBuffer);
    this.logBuffer = '';
    this.stderr.write(text);
  }

  info(text: string): void {
    this.say(text);
  }

  success(text: string): void {
    this.say(`${this.style.green('✓')} ${text}`);
  }

  warn(text: string): void {
    this.say(`${this.style.yellow('!')} ${this.style.yellow(this.bounded(text))}`);
  }

  hint(text: string): void {
    this.say(`${this.style.dim('→')} ${text}`);
  }

  debug(text: string | (() => string)): void {
    if (!this.debugEnabled) return;
    const message = typeof text === 'function' ? text() : text;
    this.say(this.style.dim(`[debug ${new Date().toISOString()}] ${message}`));
  }

  /** A spinner on a terminal; a single line otherwise. */
  spinner(text: string): { stop(final?: string): void } {
    if (!this.stderr.isTTY || this.debugEnabled) {
      this.say(text);
      return { stop: (final) => final && this.say(final) };
    }
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let i = 0;
    const draw = () => this.stderr.write(`\r\u001b[2K${this.style.cyan(frames[i++ % frames.length]!)} ${text}`);
    draw();
    const timer = setInterval(draw, 80);
    timer.unref?.();
    return {
      stop: (final) => {
        clearInterval(timer);
        this.stderr.write('\r\u001b[2K');
        if (final) this.say(final);
      },
    };
  }

  /** Redacted first (a secret must not survive as a shortened prefix), then long input quoted short. */
  private bounded(text: string): string {
    return boundEchoes(this.redactor.redact(text));
  }

  /** Prints an error the way its kind deserves and returns the exit code. */
  error(error: unknown): ExitCodeValue {
    // Every error text passes boundEchoes: a value the user gave is quoted only up to a short
    // length (the validators use util/echo themselves; this catches the rest, e.g. a file name
    // inside an operating-system error), in text and --json alike.
    if (error instanceof DirsyncError) {
      const message = this.bounded(error.message);
      const hint = error.hint === undefined ? undefined : this.bounded(error.hint);
      const details = error.details && boundDetails(error.details, (t) => this.bounded(t));
      if (this.json) {
        this.say(JSON.stringify({ error: { code: error.code, exitCode: error.exitCode, message, hint, details } }));
      } else {
        this.say(`${this.style.red('error:')} ${message}`);
        if (hint) this.hint(hint);
        if (details && this.debugEnabled) {
          for (const [k, v] of Object.entries(details)) if (v !== undefined) this.debug(`${k}: ${v}`);
        }
      }
      if (this.debugEnabled && error.cause) this.debug(`cause: ${this.bounded(describeCause(error.cause))}`);
      return error.exitCode;
    }
    const message = this.bounded(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
    if (this.json) {
      this.say(JSON.stringify({ error: { code: 'internal', exitCode: 1, message } }));
    } else {
      this.say(`${this.style.red('error:')} ${message}`);
      if (!this.debugEnabled) this.hint('Run the command again with --debug for details.');
    }
    this.debug(() => this.bounded(error instanceof Error && error.stack ? error.stack : String(error)));
    return ExitCode.failed;
  }
}

function boundDetails(
  details: NonNullable<DirsyncError['details']>,
  bound: (text: string) => string,
): NonNullable<DirsyncError['details']> {
  return Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? bound(v) : v]));
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.stack ?? cause.message;
  return String(cause);
}

/** Pads cells for a small, fully known table (e.g. `status`). */
export function padTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => visibleLength(r[i] ?? ''))));
  return rows
    .map((r) => r.map((cell, i) => cell + ' '.repeat(widths[i]! - visibleLength(cell))).join('  ').trimEnd())
    .join('\n');
}
