import { createRequire } from 'node:module';
import type { Command as CommandType, CommanderError as CommanderErrorType, Option as OptionType } from 'commander';
import { ExitCode, InterruptedError, type ExitCodeValue } from '../errors.js';
import { boundEchoes } from '../util/echo.js';
import type { Context, GlobalOptions } from './context.js';
import type { Output } from './output.js';

// Loaded with require: commander is CommonJS, and its ESM wrapper costs start-up time.
const require = createRequire(import.meta.url);
const { Command, CommanderError, Option } = require('commander') as {
  Command: typeof CommandType;
  CommanderError: typeof CommanderErrorType;
  Option: typeof OptionType;
};
type Command = CommandType;
const version = (require('../../package.json') as { version: string }).version;

type Action<O> = (options: O, ctx: Context) => Promise<ExitCodeValue | unknown>;

/**
 * How long a command may take to wind down after Ctrl-C / SIGTERM before it is cut off with exit
 * 130. Commands that watch ctx.signal (serve, consent) get time to close listeners and let
 * in-flight requests finish; a second Ctrl-C cuts them off at once.
 */
export interface ActionSettings {
  interruptGraceMs?: number;
}

/** Where a run sends its exit code; tests may replace it. */
export interface RunIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/**
 * Builds the command table. Each action imports its command module only when it runs, so start-up
 * pays for commander and nothing else (DESIGN rule 4).
 */
export function buildProgram(
  runAction: <O>(load: () => Promise<Action<O>>, options: O, command: Command, settings: ActionSettings) => Promise<void>,
  io: Pick<RunIO, 'stdout' | 'stderr'>,
): Command {
  const program = new Command('dirsync')
    // Set before any subcommand is added: subcommands copy these settings when they are created.
    .exitOverride()
    // Commander's own errors quote what was typed (an unknown option, a value not among the choices):
    // bounded like every other error (src/util/echo.ts).
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(boundEchoes(text)),
    })
    .description('Connect a Microsoft Entra ID tenant to a directory and keep it synced over SCIM 2.0.')
    .version(version, '-V, --version')
    .addOption(new Option('--profile <name>', 'the profile to use').env('DIRSYNC_PROFILE'))
    .addOption(new Option('--config-dir <dir>', 'where configuration and the directory live').env('DIRSYNC_CONFIG_DIR'))
    .option('--json', 'print one JSON document on stdout')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('--debug', 'show what happens: endpoints, correlation IDs, error codes (never secrets)')
    .option('-y, --yes', 'answer yes to confirmations')
    .option('--password-stdin', 'read the admin password for the security check from stdin (or set DIRSYNC_ADMIN_PASSWORD)')
    .option('--database <url>', 'keep the directory in PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DB (or set DIRSYNC_DATABASE_URL)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failed, 2 usage, 3 not configured, 4 sign-in/consent, 5 security check,\n' +
        '            10 secret code expiring, 11 no valid secret code, 12 provisioning quarantined or disabled,\n' +
        '            130 interrupted.',
    );

  const act =
    <O>(load: () => Promise<Action<O>>, settings: ActionSettings = {}) =>
    (options: O, command: Command) =>
      runAction(load, options, command, settings);

  program
    .command('configure')
    .description('connect a Microsoft Entra tenant: import mode, tenant ID, GCC High, security check')
    .option('--tenant-id <id>', 'the Microsoft Entra tenant ID (a GUID)')
    .option('--gcc-high', 'the tenant is in Microsoft Entra GCC High (US federal); same as --cloud usgov-high')
    .option('--cloud <cloud>', 'global | usgov-high | usgov-dod | china')
    .option('--import-mode <mode>', 'new-only (default) | sync-existing')
    .option('--client-id <id>', 'the Entra app registration used for sign-in (a GUID)')
    .option('--public-url <url>', 'the base URL where `dirsync serve` is reachable (Tenant URL = <url>/scim/v2)')
    .option('--no-consent', 'do not continue to sign-in and consent')
    .option('--offline', 'skip the online check that the tenant exists')
    .option('--device-code', 'for the consent step: sign in on another device (SSH, no browser)')
    .option('--timeout <duration>', 'for the consent step: how long to wait for the sign-in', '5m')
    .action(act(async () => (await import('./configure.js')).run, { interruptGraceMs: 5_000 }));

  program
    .command('consent')
    .description('sign in to Microsoft Entra and grant dirsync read access to users and groups for the whole organisation')
    .option('--timeout <duration>', 'how long to wait for the browser or the device code', '5m')
    .option('--device-code', 'sign in on another device (SSH sessions, machines without a browser)')
    .action(act(async () => (await import('./consent.js')).run, { interruptGraceMs: 5_000 }));

  program
    .command('unconfigure')
    .description('remove the tenant integration (keeps the directory and the Secret Code)')
    .action(act(async () => (await import('./unconfigure.js')).run));

  program
    .command('status')
    .description('one screen about the profile: tenant, consent, Tenant URL, Secret Code, directory')
    .action(act(async () => (await import('./status.js')).run));

  const token = program.command('token').description('the Secret Code that Entra uses against the Tenant URL');
  token
    .command('renew')
    .description('issue a new Secret Code (valid six months)')
    .option('--grace <duration>', 'how long the previous code stays valid (0 revokes it at once)', '24h')
    .option('--if-expiring-within <duration>', 'renew only if no valid code or it expires within this window (for cron/CI)')
    .option('--push', "save the new code in Entra's provisioning app (Test Connection, then Save); needs `provisioning link`")
    .option('--restart-if-quarantined', 'with --push: lift a quarantine of the provisioning job afterwards')
    .option('--show-secret', 'with --push: print the new code anyway (it is not needed, and stays out of CI logs by default)')
    .action(act(async () => (await import('./token.js')).renew, { interruptGraceMs: 15_000 }));
  token
    .command('status')
    .alias('show')
    .description('the Secret Code state; exit 10 when expiring, 11 when none is valid')
    .option('--warn-within <duration>', 'the "expiring" window', '30d')
    .action(act(async () => (await import('./token.js')).status));
  token
    .command('revoke')
    .description('revoke every Secret Code (Entra provisioning stops and is quarantined)')
    .action(act(async () => (await import('./token.js')).revoke));

  const provisioning = program
    .command('provisioning')
    .description("Entra's provisioning job for this directory, through Microsoft Graph");
  provisioning
    .command('link')
    .description('find the enterprise app whose provisioning pushes to the Tenant URL, and remember its job')
    .option('--app <name|appId|objectId>', 'the enterprise app (display name, application ID or object ID)')
    .action(act(async () => (await import('./provisioning.js')).link));
  provisioning
    .command('status')
    .description("the job's state, quarantine and last cycles, and the Secret Code; exit 12 when quarantined or disabled")
    .action(act(async () => (await import('./provisioning.js')).status));
  provisioning
    .command('test')
    .description('Test Connection: Entra calls the Tenant URL with the saved Secret Code')
    .action(act(async () => (await import('./provisioning.js')).test));
  provisioning
    .command('restart')
    .description('lift a quarantine (or with --full, restart provisioning from scratch)')
    .option('--full', 'the portal\'s "Restart provisioning": clear the job\'s state and re-evaluate everything')
    .action(act(async () => (await import('./provisioning.js')).restart));

  program
    .command('doctor')
    .description('check the profile, network, clock, tenant, sign-in, Entra job and Secret Code; name the cause and fix of each problem')
    .option('--bundle <file>', 'also write a redacted JSON support bundle (mode 0600) to attach to a ticket')
    .option('--timeout <duration>', 'the limit of each network check', '10s')
    .action(act(async () => (await import('./doctor.js')).run));

  program
    .command('explain')
    .description('what an Entra error code (AADSTS50011, 50011) or provisioning quarantine reason (TooManyDeletes) means, and the fix')
    .argument('<code>', 'AADSTS<number>, <number>, or a quarantine reason')
    .action((code: string, _options: object, command: Command) =>
      runAction(async () => (await import('./explain.js')).run, { code }, command, {}),
    );

  const groups = program.command('groups').description('the groups in the directory');
  groups
    .command('list')
    .description('name, GUID, updated by, members, updated')
    .option('--filter <text>', 'only groups whose name contains this text')
    .addOption(
      new Option('--source <source>', 'the local directory, or Microsoft Entra through Graph').choices(['local', 'entra']).default('local'),
    )
    .action((options: { source?: string; filter?: string }, command: Command) =>
      runAction(
        async () =>
          options.source === 'entra' ? (await import('./groups-entra.js')).listFromEntra : (await import('./groups.js')).list,
        options,
        command,
        { interruptGraceMs: 0 },
      ),
    );

  const users = program.command('users').description('the users in the directory');
  users
    .command('list')
    .description('user name, display name, GUID, status, updated by, updated')
    .option('--filter <text>', 'only users whose user name contains this text')
    .action(act(async () => (await import('./users.js')).list));

  const directory = program.command('directory').description('the local directory');
  directory
    .command('import')
    .description('add users and groups that did not come from Entra ("Updated by: Administrator")')
    .argument('<file>', 'a CSV file with the header type,name,displayName,email,active,members')
    .action((file: string, _options: object, command: Command) =>
      runAction(async () => (await import('./directory.js')).importCsv, { file }, command, {}),
    );

  const db = program.command('db').description('where the directory lives: SQLite beside the config, or PostgreSQL');
  db.command('migrate')
    .description('create or upgrade the directory schema now (otherwise done on first use)')
    .action(act(async () => (await import('./db.js')).migrate));
  db.command('status')
    .description('backend (sqlite | postgres), schema version, and location (never the password)')
    .action(act(async () => (await import('./db.js')).status));

  program
    .command('serve')
    .description('the Tenant URL: a SCIM 2.0 endpoint that Entra provisioning pushes users and groups to')
    .option('--host <addr>', 'the address to listen on', '127.0.0.1')
    .option('--port <n>', 'the port to listen on (0 picks a free one)', '8080')
    .option('--public-url <url>', 'the base URL Entra uses, if not the configured one')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain')
    .option('--tls-key <file>', 'the private key of --tls-cert')
    .option('--max-body-size <size>', 'the largest request body accepted', '1MiB')
    .action(act(async () => (await import('./serve.js')).run, { interruptGraceMs: 15_000 }));

  return program;
}

export async function run(argv: string[], io: RunIO): Promise<number> {
  const abort = new AbortController();
  let out: Output | undefined;
  let exitCode: number = ExitCode.ok;
  let interrupts = 0;
  let cutOff: (reason: unknown) => void = () => {};
  // conf writes config.json through `atomically`, whose exit hook (when-exit) answers SIGINT and
  // SIGTERM by removing its temp files and sending the same signal to this process again. That
  // echo arrives on the next turn of the event loop; it is not a second Ctrl-C.
  let echo = false;
  const onSignal = () => {
    if (echo) return;
    echo = true;
    setImmediate(() => setImmediate(() => (echo = false)));
    interrupts++;
    if (interrupts === 1) abort.abort(new InterruptedError());
    else cutOff(new InterruptedError());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const program = buildProgram(async (load, options, command, settings) => {
    const globals = command.optsWithGlobals() as GlobalOptions;
    const { createContext } = await import('./context.js');
    const ctx = createContext(globals, { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, env: io.env, signal: abort.signal });
    out = ctx.out;
    ctx.out.debug(`dirsync ${version}, node ${process.version}, profile "${ctx.profile}", config ${ctx.paths.configFile}`);
    const action = await load();
    // Ctrl-C: the command gets its grace period to wind down (see ActionSettings), then is cut off.
    const interrupted = new Promise<never>((_, reject) => {
      cutOff = reject;
      const onAbort = () => {
        if (!settings.interruptGraceMs) reject(abort.signal.reason);
        else setTimeout(() => reject(abort.signal.reason), settings.interruptGraceMs);
      };
      if (abort.signal.aborted) onAbort();
      else abort.signal.addEventListener('abort', onAbort, { once: true });
    });
    const result = await Promise.race([action(options as never, ctx), interrupted]);
    if (typeof result === 'number') exitCode = result;
  }, io);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error (2).
      exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    } else {
      const { Output } = await import('./output.js');
      out ??= new Output({ stdout: io.stdout, stderr: io.stderr, env: io.env, json: argv.includes('--json'), debug: argv.includes('--debug'), color: !argv.includes('--no-color') });
      exitCode = out.error(error);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}

/** The entry point of bin/dirsync.js: the only place that exits the process. */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
  process.exitCode = code;
  // Exit once stdout has flushed, so nothing (a prompt, a socket) keeps the process alive. An empty
  // write's callback runs after everything written before it: a pipe can hold buffered output even
  // when writableNeedDrain is false, and process.exit would drop it.
  process.stdout.write('', () => process.exit(code));
}
