import { InterruptedError, UsageError } from '../errors.js';
import { defaultConfigDir, statePaths, validateProfileName, type StatePaths } from '../config/paths.js';
import { Output, type OutputStream } from './output.js';

/** Options every command accepts (README "Global options"). */
export interface GlobalOptions {
  profile?: string;
  configDir?: string;
  json?: boolean;
  color?: boolean;
  debug?: boolean;
  yes?: boolean;
  passwordStdin?: boolean;
  /** A PostgreSQL URL for the directory (else DIRSYNC_DATABASE_URL, else SQLite). */
  database?: string;
}

export interface Prompter {
  select<T extends string>(message: string, choices: { name: string; value: T; description?: string }[], initial?: T): Promise<T>;
  input(message: string, options?: { initial?: string; validate?: (value: string) => true | string }): Promise<string>;
  confirm(message: string, initial?: boolean): Promise<boolean>;
  password(message: string, validate?: (value: string) => true | string): Promise<string>;
}

export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
}

/**
 * Everything a command needs from the outside world, in one object: tests hand in fakes instead of
 * stubbing globals (DESIGN rule 1).
 */
export interface Context {
  stdin: InputStream;
  out: Output;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** True when a person can answer prompts: stdin and stderr are terminals. */
  interactive: boolean;
  profile: string;
  paths: StatePaths;
  globals: GlobalOptions;
  prompt: Prompter;
  /** Aborted on Ctrl-C, so long waits (the browser, a server) can clean up. */
  signal: AbortSignal;
  /** Reads all of stdin once (for --password-stdin). */
  readStdin(): Promise<string>;
}

export interface ContextInit {
  stdin: InputStream;
  stdout: OutputStream;
  stderr: OutputStream & NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  now?: () => Date;
}

export function createContext(globals: GlobalOptions, init: ContextInit): Context {
  const env = init.env;
  const out = new Output({
    stdout: init.stdout,
    stderr: init.stderr,
    env,
    json: Boolean(globals.json),
    debug: Boolean(globals.debug) || env.DIRSYNC_DEBUG === '1',
    color: globals.color !== false,
  });
  const profile = validateProfileName(globals.profile ?? env.DIRSYNC_PROFILE ?? 'default');
  const configDir = globals.configDir ?? env.DIRSYNC_CONFIG_DIR ?? defaultConfigDir(env);
  let stdinText: Promise<string> | undefined;
  return {
    stdin: init.stdin,
    out,
    env,
    now: init.now ?? (() => new Date()),
    interactive: Boolean(init.stdin.isTTY && init.stderr.isTTY),
    profile,
    paths: statePaths(configDir, profile),
    globals,
    prompt: inquirerPrompter(init.stdin, init.stderr),
    signal: init.signal,
    readStdin: () =>
      (stdinText ??= (async () => {
        let text = '';
        init.stdin.setEncoding?.('utf8');
        for await (const chunk of init.stdin) text += chunk;
        return text;
      })()),
  };
}

/** @inquirer/prompts, imported only when a prompt is really shown. Ctrl-C in a prompt exits 130. */
function inquirerPrompter(input: InputStream, output: NodeJS.WritableStream): Prompter {
  const load = () => import('@inquirer/prompts');
  const ctx = { input, output } as Parameters<Awaited<ReturnType<typeof load>>['input']>[1];
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
        throw new InterruptedError('Cancelled.');
      }
      throw error;
    }
  };
  return {
    select: (message, choices, initial) =>
      guard(async () => (await load()).select({ message, choices, default: initial }, ctx)),
    input: (message, options = {}) =>
      guard(async () =>
        (await load()).input({ message, default: options.initial, validate: options.validate }, ctx),
      ),
    confirm: (message, initial = false) => guard(async () => (await load()).confirm({ message, default: initial }, ctx)),
    password: (message, validate) =>
      guard(async () => (await load()).password({ message, mask: '*', validate }, ctx)),
  };
}

/** The error for a value that would be asked on a terminal but cannot be asked here. */
export function missingValue(what: string, how: string): UsageError {
  return new UsageError(`${what} is required and cannot be asked without a terminal.`, { hint: `Pass ${how}.` });
}
