import fs from 'node:fs';
import path from 'node:path';
import { OperationError, StateError } from '../errors.js';
import type { CloudName } from '../entra/clouds.js';

export const CONFIG_SCHEMA_VERSION = 1;

export type ImportMode = 'new-only' | 'sync-existing';

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

export interface ConfigFile {
  schemaVersion: number;
  profiles: Record<string, ProfileConfig>;
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The tenant configuration of every profile in one JSON file (`config.json`, 0600, dir 0700).
 * Every change is a read-modify-write under a lock file and lands with an atomic rename, so
 * concurrent dirsync processes never lose an update and a crash never leaves half a file.
 * A file that cannot be read is never reset: the error names it and how to recover.
 */
export class ConfigStore {
  constructor(readonly file: string) {}

  read(): ConfigFile {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { schemaVersion: CONFIG_SCHEMA_VERSION, profiles: {} };
      }
      throw this.unreadable((error as Error).message, error);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw this.unreadable(`it is not valid JSON (${(error as Error).message})`, error);
    }
    if (!isConfigFile(data)) throw this.unreadable('it is not a dirsync configuration');
    if (data.schemaVersion > CONFIG_SCHEMA_VERSION) {
      throw new StateError(
        `${this.file} was written by a newer dirsync (schema ${data.schemaVersion}; this one knows ${CONFIG_SCHEMA_VERSION}).`,
        { hint: 'Upgrade dirsync and run the command again. The file has not been changed.' },
      );
    }
    return data;
  }

  profile(name: string): ProfileConfig {
    return this.read().profiles[name] ?? {};
  }

  /** Applies `change` to the freshest copy of the profile, under the lock, and writes it atomically. */
  updateProfile(name: string, change: (profile: ProfileConfig) => ProfileConfig | undefined): ProfileConfig {
    return this.withLock(() => {
      const data = this.read();
      const next = change(structuredClone(data.profiles[name] ?? {}));
      if (next === undefined || Object.keys(next).length === 0) delete data.profiles[name];
      else data.profiles[name] = next;
      this.write(data);
      return next ?? {};
    });
  }

  private unreadable(reason: string, cause?: unknown): StateError {
    return new StateError(`The configuration file ${this.file} cannot be read: ${reason}.`, {
      hint:
        'dirsync has not changed it. Fix or restore the file, or move it aside ' +
        `(mv "${this.file}" "${this.file}.broken") and run \`dirsync configure\` again.`,
      cause,
    });
  }

  private write(data: ConfigFile): void {
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.config.json.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, `${JSON.stringify({ ...data, schemaVersion: CONFIG_SCHEMA_VERSION }, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, this.file);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw error;
    }
    try {
      const dirFd = fs.openSync(dir, 'r');
      fs.fsyncSync(dirFd);
      fs.closeSync(dirFd);
    } catch {
      // Directories cannot be fsynced on every platform; the rename is still atomic.
    }
  }

  private withLock<T>(fn: () => T): T {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (this.lockIsStale(lock)) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new OperationError(`Another dirsync process holds ${lock}.`, {
            hint: 'Wait for it to finish. If none is running, delete the lock file and try again.',
          });
        }
        sleep(delay);
      }
    }
    try {
      return fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  private lockIsStale(lock: string): boolean {
    try {
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 0);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
        }
      }
      return Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS;
    } catch {
      return false;
    }
  }
}

function isConfigFile(data: unknown): data is ConfigFile {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    typeof d.schemaVersion === 'number' &&
    typeof d.profiles === 'object' &&
    d.profiles !== null &&
    !Array.isArray(d.profiles)
  );
}
