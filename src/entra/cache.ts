import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { StateError } from '../errors.js';

/**
 * msal's token cache, persisted per profile in one file (mode 0600, directory 0700), replaced
 * atomically (write a temp file, fsync, rename) so a crash never leaves half a cache. An unreadable
 * cache is not fatal for sign-in: it is treated as empty (the admin signs in again) and replaced.
 * (@azure/msal-node-extensions would need keytar/libsecret, which does not install everywhere.)
 */
export function fileCachePlugin(file: string, onDebug?: (line: string) => void): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
      let text: string;
      try {
        text = await fs.promises.readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new StateError(`The sign-in cache ${file} cannot be read: ${(error as Error).message}.`, {
          hint: `Delete it (rm "${file}") and run \`dirsync consent\` again.`,
        });
      }
      try {
        JSON.parse(text);
        context.tokenCache.deserialize(text);
      } catch {
        onDebug?.(`sign-in cache ${file} is not valid JSON; ignoring it`);
      }
    },
    async afterCacheAccess(context: TokenCacheContext): Promise<void> {
      if (!context.cacheHasChanged) return;
      writeAtomic(file, context.tokenCache.serialize());
      onDebug?.(`sign-in cache written: ${file}`);
    },
  };
}

export function writeAtomic(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}
