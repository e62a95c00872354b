import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';
import type { ImportMode } from '../../src/directory/store.js';
import { fingerprintSecretCode, generateSecretCode, hashSecretCode } from '../../src/secrets/code.js';
import { startScimServer, type OversizeBounds, type ScimServer } from '../../src/scim/server.js';

export interface ScimFixture {
  dir: string;
  store: SqliteDirectory;
  server: ScimServer;
  code: string;
  logs: string[];
  mode: { value: ImportMode };
  clock: { now: Date };
  close(): Promise<void>;
}

/** Issues a Secret Code in `store` (as `dirsync token renew` does) and returns the plain code. */
export async function issueCode(store: SqliteDirectory, now: Date, graceMs = 24 * 3600_000, months = 6): Promise<string> {
  const code = generateSecretCode();
  const expiresAt = new Date(now);
  expiresAt.setMonth(expiresAt.getMonth() + months);
  await store.renewSecretCode({
    now,
    graceMs,
    generate: () => ({ hash: hashSecretCode(code), fingerprint: fingerprintSecretCode(code), createdAt: now, expiresAt }),
  });
  return code;
}

/** A temp SQLite directory, a Secret Code, and the SCIM server on 127.0.0.1 (port 0). */
export async function startFixture(
  options: { importMode?: ImportMode; maxBodyBytes?: number; oversize?: Partial<OversizeBounds> } = {},
): Promise<ScimFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-scim-'));
  const store = openSqliteDirectory(path.join(dir, 'directory.db'));
  const clock = { now: new Date() };
  const code = await issueCode(store, clock.now);
  const logs: string[] = [];
  const mode = { value: options.importMode ?? 'new-only' };
  const server = await startScimServer({
    store,
    importMode: () => mode.value,
    host: '127.0.0.1',
    port: 0,
    log: (line) => logs.push(line),
    now: () => clock.now,
    maxBodyBytes: options.maxBodyBytes,
    oversize: options.oversize,
  });
  return {
    dir,
    store,
    server,
    code,
    logs,
    mode,
    clock,
    async close() {
      await server.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
