import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { quoted } from '../util/echo.js';
import { PROFILE_NAME_PATTERN } from './schema.js';

/**
 * The default config dir is the one conf chooses (through env-paths) for a project named "dirsync",
 * computed here from the context's environment because the directory store and the sign-in cache
 * live beside config.json (test/unit/config-store.test.ts checks it against env-paths):
 * Linux `$XDG_CONFIG_HOME/dirsync-nodejs` (else ~/.config/…), macOS `~/Library/Preferences/dirsync-nodejs`,
 * Windows `%APPDATA%\dirsync-nodejs\Config`.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  const name = 'dirsync-nodejs';
  const home = env.HOME || env.USERPROFILE || os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Preferences', name);
  if (platform === 'win32') {
    return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), name, 'Config');
  }
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), name);
}

const PROFILE_RE = new RegExp(PROFILE_NAME_PATTERN);

export function validateProfileName(name: string): string {
  const lower = name.toLowerCase();
  if (!PROFILE_RE.test(lower)) {
    throw new UsageError(`${quoted(name)} is not a valid profile name.`, {
      hint: 'Use letters, digits, "-" and "_" (up to 64 characters), e.g. --profile contoso-prod.',
    });
  }
  return lower;
}

export interface StatePaths {
  configDir: string;
  configFile: string;
  /** The directory store of this profile (SQLite). */
  directoryDb: string;
  /** The MSAL token cache of this profile. */
  signInCache: string;
}

export function statePaths(configDir: string, profile: string): StatePaths {
  const dir = path.resolve(configDir);
  const suffix = profile === 'default' ? '' : `-${profile}`;
  return {
    configDir: dir,
    configFile: path.join(dir, 'config.json'),
    directoryDb: path.join(dir, `directory${suffix}.db`),
    signInCache: path.join(dir, `msal-cache${suffix}.json`),
  };
}
