import { NotConfiguredError, SecurityCheckError, UsageError } from '../errors.js';
import { ConfigStore, type ProfileConfig, type TenantConfig } from '../config/store.js';
import { formatDay } from '../util/dates.js';
import { missingValue, type Context } from './context.js';
import fs from 'node:fs';
import type { SqliteDirectory } from '../directory/sqlite.js';
import type { PostgresDirectory } from '../directory/postgres/directory.js';
import type { Column } from './output.js';

export const configStore = (ctx: Context) => new ConfigStore(ctx.paths.configFile);

/** `--profile x` in the fix commands we print, when the profile is not the default. */
export const profileFlag = (ctx: Context) => (ctx.profile === 'default' ? '' : ` --profile ${ctx.profile}`);

export function requireTenant(ctx: Context, profile: ProfileConfig): TenantConfig {
  if (!profile.tenant) {
    throw new NotConfiguredError(`Profile "${ctx.profile}" is not configured (in ${ctx.paths.configDir}).`, {
      hint: `Run \`dirsync configure${profileFlag(ctx)}\` to connect a Microsoft Entra tenant.`,
    });
  }
  return profile.tenant;
}

/** Profiles that `configure` has set up once (unconfigure keeps provisioning and the password). */
export function requireProvisioning(ctx: Context, profile: ProfileConfig): NonNullable<ProfileConfig['provisioning']> {
  if (!profile.provisioning || !profile.security) {
    throw new NotConfiguredError(`Profile "${ctx.profile}" has not been configured (in ${ctx.paths.configDir}).`, {
      hint: `Run \`dirsync configure${profileFlag(ctx)}\` first: it sets the admin password and the Tenant URL.`,
    });
  }
  return profile.provisioning;
}

/** The directory store of a command: SQLite beside the config, or PostgreSQL with a database URL. */
export type Directory = SqliteDirectory | PostgresDirectory;

/** The PostgreSQL URL (`--database`, else DIRSYNC_DATABASE_URL), or undefined for SQLite. */
export function databaseUrl(ctx: Context): string | undefined {
  const url = ctx.globals.database ?? ctx.env.DIRSYNC_DATABASE_URL;
  return url ? url : undefined;
}

/** Whether there is a directory to read (a PostgreSQL database is always there to ask). */
export function directoryExists(ctx: Context): boolean {
  return databaseUrl(ctx) !== undefined || fs.existsSync(ctx.paths.directoryDb);
}

/**
 * Opens this profile's directory store; better-sqlite3 (or pg, with a database URL) is loaded only
 * by the commands that call this. The one place that chooses the backend.
 */
export async function openDirectory(ctx: Context): Promise<Directory> {
  const url = databaseUrl(ctx);
  if (url) {
    const { openPostgresDirectory, redactDatabaseUrl } = await import('../directory/postgres/directory.js');
    ctx.out.debug(`directory store: PostgreSQL ${redactDatabaseUrl(url)}`);
    return openPostgresDirectory(url);
  }
  const { openSqliteDirectory } = await import('../directory/sqlite.js');
  ctx.out.debug(`directory store: ${ctx.paths.directoryDb}`);
  return openSqliteDirectory(ctx.paths.directoryDb);
}

/** Closes a store and waits until its connections are gone. */
export async function closeDirectory(directory: Directory): Promise<void> {
  directory.close();
  if (directory.backend === 'postgres') await directory.closed();
}

/**
 * Streams rows read from this profile's directory through `ctx.out.streamRows`; a profile with no
 * directory yet streams nothing (and creates no database). Returns how many rows were written.
 */
export async function streamFromDirectory<T>(
  ctx: Context,
  rows: (directory: Directory) => AsyncIterable<T>,
  columns: Column<T>[],
  toJson: (row: T) => unknown,
): Promise<number> {
  if (!directoryExists(ctx)) return ctx.out.streamRows((async function* () {})(), columns, toJson);
  const directory = await openDirectory(ctx);
  try {
    return await ctx.out.streamRows(rows(directory), columns, toJson);
  } finally {
    await closeDirectory(directory);
  }
}

const PASSWORD_SOURCES =
  '--password-stdin (e.g. printf \'%s\' "$DIRSYNC_PW" | dirsync … --password-stdin) or set DIRSYNC_ADMIN_PASSWORD';

/** The admin password from stdin, the environment, or — on a terminal — a prompt. Never echoed. */
async function suppliedPassword(ctx: Context, prompt: string): Promise<string | undefined> {
  let password: string | undefined;
  if (ctx.globals.passwordStdin) {
    password = (await ctx.readStdin()).replace(/\r?\n$/, '');
    if (!password) throw new UsageError('--password-stdin was given but stdin was empty.', { hint: `Pipe the password in: ${PASSWORD_SOURCES}.` });
  } else if (ctx.env.DIRSYNC_ADMIN_PASSWORD) {
    password = ctx.env.DIRSYNC_ADMIN_PASSWORD;
  } else if (ctx.interactive) {
    password = await ctx.prompt.password(prompt);
  }
  ctx.out.secret(password);
  return password;
}

const when = (date: Date) =>
  `${date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' })} on ${formatDay(date)}`;

/**
 * The security check of the reference procedure: the admin password, before the integration
 * changes. Five wrong passwords in a row lock it for 15 minutes (persisted). Exit 5 on failure.
 */
export async function securityCheck(ctx: Context, store: ConfigStore): Promise<void> {
  const { lockedUntil, MAX_FAILED_ATTEMPTS, recordAttempt, verifyPassword } = await import('../security/password.js');
  const security = store.profile(ctx.profile).security;
  if (!security) {
    throw new NotConfiguredError(`No admin password has been set for profile "${ctx.profile}".`, {
      hint: `Run \`dirsync configure${profileFlag(ctx)}\` first; it sets the password.`,
    });
  }
  const locked = lockedUntil(security, ctx.now());
  if (locked) {
    throw new SecurityCheckError(`The security check is locked after ${MAX_FAILED_ATTEMPTS} wrong passwords, until ${when(locked)}.`, {
      hint: 'Wait until then and try again with the right admin password.',
    });
  }
  const password = await suppliedPassword(ctx, 'Security check — admin password:');
  if (password === undefined) throw missingValue('The admin password (security check)', PASSWORD_SOURCES);
  const ok = await verifyPassword(security.passwordHash, password);
  const after = store.updateProfile(ctx.profile, (p) => ({
    ...p,
    security: recordAttempt(p.security ?? security, ok, ctx.now()),
  })).security!;
  ctx.out.debug(`security check: ${ok ? 'passed' : 'failed'} (failed attempts in a row: ${after.failedAttempts})`);
  if (ok) return;
  const nowLocked = lockedUntil(after, ctx.now());
  if (nowLocked) {
    throw new SecurityCheckError(`Wrong admin password. The security check is now locked until ${when(nowLocked)}.`, {
      hint: 'Nothing was changed. Wait 15 minutes and try again with the right password.',
    });
  }
  const left = MAX_FAILED_ATTEMPTS - after.failedAttempts;
  throw new SecurityCheckError(
    `Wrong admin password. ${left} attempt${left === 1 ? '' : 's'} left before the check locks for 15 minutes.`,
    { hint: 'Nothing was changed. Try again with the admin password set by `dirsync configure`.' },
  );
}

/** The new admin password of a first `configure`: asked twice on a terminal, at least 12 characters. */
export async function newPasswordHash(ctx: Context): Promise<string> {
  const { hashPassword, MIN_PASSWORD_LENGTH, validateNewPassword } = await import('../security/password.js');
  if (!ctx.globals.passwordStdin && !ctx.env.DIRSYNC_ADMIN_PASSWORD && ctx.interactive) {
    ctx.out.info(
      `Set the admin password for the security check (at least ${MIN_PASSWORD_LENGTH} characters). ` +
        'It will be asked before the integration or its Secret Code changes.',
    );
    for (;;) {
      const validate = (v: string) =>
        [...v].length >= MIN_PASSWORD_LENGTH || `At least ${MIN_PASSWORD_LENGTH} characters, please.`;
      const first = await ctx.prompt.password('New admin password:', validate);
      ctx.out.secret(first);
      const second = await ctx.prompt.password('Repeat the admin password:');
      if (first === second) return hashPassword(first);
      ctx.out.warn('The two passwords differ; try again.');
    }
  }
  const password = await suppliedPassword(ctx, '');
  if (password === undefined) throw missingValue('A new admin password (for the security check)', PASSWORD_SOURCES);
  validateNewPassword(password);
  return hashPassword(password);
}

/** Asks for a yes/no confirmation, or takes --yes; without a terminal and without --yes it is a usage error. */
export async function confirmOrYes(ctx: Context, question: string): Promise<boolean> {
  if (ctx.globals.yes) return true;
  if (!ctx.interactive) throw missingValue('Confirmation', '--yes to confirm');
  return ctx.prompt.confirm(question, false);
}
