import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Conf, { type Options as ConfOptions } from 'conf';
import type { lockSync as LockSync } from 'proper-lockfile';
import { OperationError, StateError } from '../errors.js';
import type { CloudName } from '../entra/clouds.js';
import { CONFIG_SCHEMA_VERSION, configRootSchema, configSchema, type IMPORT_MODES } from './schema.js';

export { CONFIG_SCHEMA_VERSION };

export type ImportMode = (typeof IMPORT_MODES)[number];

/** The tenant integration: removed by `unconfigure`. */
export interface TenantConfig {
  tenantId: string;
  cloud: CloudName;
  clientId?: string;
  /** A verified domain the admin typed, resolved to tenantId. */
  domain?: string;
  configuredAt: string;
  updatedAt: string;
}

export interface ConsentRecord {
  grantedAt: string;
  tenantDisplayName?: string;
  account?: string;
  permissions: string[];
}

/** How Entra's provisioning reaches this directory: kept by `unconfigure`. */
export interface ProvisioningConfig {
  importMode: ImportMode;
  publicUrl?: string;
}

/** The security check (admin password): kept by `unconfigure` so `token revoke` still works. */
export interface SecurityConfig {
  passwordHash: string;
  setAt: string;
  failedAttempts: number;
  lockedUntil?: string;
}

/** The enterprise app whose provisioning job pushes to our Tenant URL (`provisioning link`); removed by `unconfigure`. */
export interface LinkedJob {
  servicePrincipalId: string;
  appId: string;
  displayName: string;
  jobId: string;
  linkedAt: string;
}

/**
 * The last failed consent or sign-in (`consent`, and `configure` when it continues into consent),
 * cleared by the next success; `doctor` reports it. Never a secret: the message is redacted and
 * holds Entra's description, never a code or token.
 */
export interface LastFailure {
  /** Entra's error code, e.g. "AADSTS65004", when there was one. */
  code?: string;
  message: string;
  /** When it failed (ISO-8601). */
  at: string;
  traceId?: string;
  correlationId?: string;
  /** "browser" or "device-code". */
  flow?: string;
}

export interface ProfileConfig {
  tenant?: TenantConfig;
  consent?: ConsentRecord;
  provisioningJob?: LinkedJob;
  provisioning?: ProvisioningConfig;
  security?: SecurityConfig;
  lastFailure?: LastFailure;
}

export type ConfigFile = {
  schemaVersion: number;
  profiles: Record<string, ProfileConfig>;
};

/**
 * conf's migrations, keyed by `<schema version>.0.0` (conf counts versions in semver and records
 * the last one run in the file's `__internal__` key). Each migration turns the previous schema
 * into this one and sets `schemaVersion`; they run under the lock, before the first write.
 */
const MIGRATIONS: NonNullable<ConfOptions<ConfigFile>['migrations']> = {
  // Schema 1 is the format dirsync 0.1.0 wrote (without conf's record): nothing to change.
  '1.0.0': () => {},
};

/** proper-lockfile's default: a lock not refreshed for this long belongs to a dead process. */
const LOCK_STALE_MS = 10_000;
/** Longer than LOCK_STALE_MS, so a lock left by a killed writer is taken over, not waited out. */
const LOCK_WAIT_MS = 15_000;

/** Temp files of a write that never finished: conf's (atomically's) and dirsync 0.1.0's. */
const LEFTOVER = /^(?:config\.json\.tmp-\d{10}[0-9a-f]{6}|\.config\.json\.\d+\.\d+\.[0-9a-z]+\.tmp)$/;

const SCHEMA_VIOLATION = 'Config schema violation: ';

const require = createRequire(import.meta.url);

interface Validator {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** ajv's standalone code for schema.ts, generated into dist/config by the build (the same path from src/ and dist/). */
const precompiledValidator = (): Validator =>
  require(fileURLToPath(new URL('../../dist/config/config-validator.cjs', import.meta.url))) as Validator;

const emptyConfig = (): ConfigFile => ({ schemaVersion: CONFIG_SCHEMA_VERSION, profiles: {} });

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Thrown by the reader for a file of an older schema: it is migrated under the lock first. */
class NeedsMigration extends Error {}

/**
 * The tenant configuration of every profile in one JSON file (`config.json`, 0600, dir 0700), held
 * by conf: its schema refuses an invalid value, its migrations upgrade an older schema, and it
 * writes atomically (temp file, fsync, rename). Every change is a read-modify-write under a
 * cross-process lock (proper-lockfile), so concurrent dirsync processes never lose an update; the
 * next write removes what a killed writer left. A file that cannot be read is never reset
 * (conf's `clearInvalidConfig` stays off): the error names it and how to recover.
 */
export class ConfigStore {
  private reader: Conf<ConfigFile> | undefined;

  constructor(readonly file: string) {}

  read(): ConfigFile {
    // conf would create the directory and an empty store; a read creates nothing. Only a file that
    // is not there reads as empty: a path that cannot be read (too long, no permission) is an error.
    let found: fs.Stats | undefined;
    try {
      found = fs.statSync(this.file, { throwIfNoEntry: false });
    } catch (error) {
      throw this.explain(error);
    }
    if (!found) return emptyConfig();
    try {
      return this.checkedRead();
    } catch (error) {
      if (!(error instanceof NeedsMigration)) throw this.explain(error);
    }
    return this.withLock(() => {
      try {
        return this.open(true).store;
      } catch (error) {
        throw this.explain(error);
      }
    });
  }

  /** The file through the reader: schema-checked; NeedsMigration for an older schema. */
  private checkedRead(): ConfigFile {
    this.reader ??= this.open(false);
    const data = this.reader.store;
    // Only a file removed since it was seen reads as nothing (conf's empty store).
    return data.profiles ? data : emptyConfig();
  }

  profile(name: string): ProfileConfig {
    return this.read().profiles[name] ?? {};
  }

  /** Applies `change` to the freshest copy of the profile, under the lock, and writes it atomically. */
  updateProfile(name: string, change: (profile: ProfileConfig) => ProfileConfig | undefined): ProfileConfig {
    return this.withLock(() => {
      let conf: Conf<ConfigFile>;
      try {
        // Checked before conf's migrations run: they write their record into the file even when the
        // rest of it is invalid, and an invalid file must stay exactly as it is.
        if (fs.existsSync(this.file)) {
          try {
            this.checkedRead();
          } catch (error) {
            if (!(error instanceof NeedsMigration)) throw error;
          }
        }
        conf = this.open(true);
      } catch (error) {
        throw this.explain(error);
      }
      this.removeLeftovers();
      const current = conf.store.profiles[name];
      const next = change(structuredClone(current ?? {}));
      try {
        if (next === undefined || Object.keys(next).length === 0) {
          if (current !== undefined) conf.delete(`profiles.${name}`);
          return {};
        }
        // One write: dot-prop paths, and profile names have no dots.
        conf.set({ schemaVersion: CONFIG_SCHEMA_VERSION, [`profiles.${name}`]: next } as Partial<ConfigFile>);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith(SCHEMA_VIOLATION)) throw error;
        throw new OperationError(`dirsync refused to write ${this.file}: ${describeViolation(error.message)}.`, {
          hint: 'The file has not been changed. This is a bug in dirsync: please report it with the output of --debug.',
          cause: error,
        });
      }
      return next;
    });
  }

  /**
   * conf on this file. The writer (only under the lock) has conf compile the schema, which checks
   * every write, runs the migrations and fills a new file with the top-level keys. The reader checks
   * what it reads against the same schema with ajv's code compiled at build time
   * (scripts/build-config-validator.mjs): compiling it on every run would cost more than the rest of
   * `dirsync token status`.
   */
  private open(write: boolean): Conf<ConfigFile> {
    return new Conf<ConfigFile>({
      cwd: path.dirname(this.file),
      configName: path.basename(this.file, '.json'),
      configFileMode: 0o600,
      clearInvalidConfig: false,
      serialize: (value) => `${JSON.stringify(value, null, 2)}\n`,
      deserialize: (text) => this.checkVersion(JSON.parse(text), write),
      ...(write
        ? {
            schema: configSchema as ConfOptions<ConfigFile>['schema'],
            rootSchema: configRootSchema,
            // The schema is a constant, checked against JSON Schema's meta-schema by the build.
            ajvOptions: { validateSchema: false },
            defaults: { schemaVersion: CONFIG_SCHEMA_VERSION, profiles: {} },
            migrations: MIGRATIONS,
            projectVersion: `${CONFIG_SCHEMA_VERSION}.0.0`,
          }
        : {}),
    });
  }

  /** Refuses a file written by a newer dirsync before conf validates, migrates or writes anything. */
  private checkVersion(data: unknown, migrating: boolean): ConfigFile {
    const version = (data as Partial<ConfigFile> | null)?.schemaVersion;
    if (typeof version === 'number' && version > CONFIG_SCHEMA_VERSION) {
      throw new StateError(
        `${this.file} was written by a newer dirsync (schema ${version}; this one knows ${CONFIG_SCHEMA_VERSION}).`,
        { hint: 'Upgrade dirsync and run the command again. The file has not been changed.' },
      );
    }
    if (!migrating && typeof version === 'number' && version < CONFIG_SCHEMA_VERSION) throw new NeedsMigration();
    if (!migrating) {
      const validate = precompiledValidator();
      if (!validate(data)) {
        // Worded as conf words its own schema violations.
        const errors = (validate.errors ?? []).map(({ instancePath, message = '' }) => `\`${instancePath.slice(1)}\` ${message}`);
        throw new Error(SCHEMA_VIOLATION + errors.join('; '));
      }
    }
    return data as ConfigFile;
  }

  private explain(error: unknown): Error {
    if (error instanceof StateError) return error;
    if (error instanceof SyntaxError) return this.unreadable(`it is not valid JSON (${error.message})`, error);
    const message = (error as Error).message ?? String(error);
    if (message.startsWith(SCHEMA_VIOLATION)) {
      return new StateError(`The configuration file ${this.file} has an invalid value: ${describeViolation(message)}.`, {
        hint:
          'dirsync has not changed it. Correct that value, or move the file aside ' +
          `(mv "${this.file}" "${this.file}.broken") and run \`dirsync configure\` again.`,
        cause: error,
      });
    }
    return this.unreadable(message, error);
  }

  private unreadable(reason: string, cause?: unknown): StateError {
    return new StateError(`The configuration file ${this.file} cannot be read: ${reason}.`, {
      hint:
        'dirsync has not changed it. Fix or restore the file, or move it aside ' +
        `(mv "${this.file}" "${this.file}.broken") and run \`dirsync configure\` again.`,
      cause,
    });
  }

  /**
   * Temp files of writers that were killed mid-write. Called under the lock: every writer holds it
   * while its temp file exists, so any temp file seen here belongs to a dead one.
   */
  private removeLeftovers(): void {
    const dir = path.dirname(this.file);
    for (const name of fs.readdirSync(dir)) {
      if (LEFTOVER.test(name)) fs.rmSync(path.join(dir, name), { force: true });
    }
  }

  /**
   * Runs `fn` holding `config.json.lock` (proper-lockfile: an atomic mkdir, refreshed while held;
   * a lock not refreshed for LOCK_STALE_MS is a dead writer's and is taken over).
   */
  private withLock<T>(fn: () => T): T {
    const { lockSync } = require('proper-lockfile') as { lockSync: typeof LockSync };
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    let release: () => void;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        release = lockSync(this.file, { realpath: false, stale: LOCK_STALE_MS, lockfilePath: lock });
        break;
      } catch (error) {
        // dirsync 0.1.0 locked with a file of the same name, not a directory: proper-lockfile found
        // it stale (not touched for LOCK_STALE_MS) but cannot rmdir a file. A live 0.1.0 writer
        // keeps its file for milliseconds, so a stale one is a dead writer's.
        if ((error as NodeJS.ErrnoException).code === 'ENOTDIR' && fs.statSync(lock, { throwIfNoEntry: false })?.isFile()) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
        if (Date.now() > deadline) {
          throw new OperationError(`Another dirsync process holds ${lock}.`, {
            hint: 'Wait for it to finish. If none is running, remove the lock (rmdir it) and try again.',
          });
        }
        sleep(delay);
      }
    }
    try {
      return fn();
    } finally {
      release();
    }
  }
}

/** "`profiles/default/tenant/tenantId` must match pattern …" → "profiles.default.tenant.tenantId must match pattern …". */
function describeViolation(message: string): string {
  return message
    .slice(SCHEMA_VIOLATION.length)
    .replace(/`([^`]*)`/g, (_, key: string) => (key ? key.replaceAll('/', '.') : 'the file'));
}
