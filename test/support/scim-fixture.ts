import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';
import type { PostgresDirectory } from '../../src/directory/postgres/directory.js';
import type { DirectoryStore, ImportMode } from '../../src/directory/store.js';
import { fingerprintSecretCode, generateSecretCode, hashSecretCode } from '../../src/secrets/code.js';
import { startScimServer, type OversizeBounds, type ScimServer } from '../../src/scim/server.js';

export interface ScimFixture {
  dir: string;
  store: SqliteDirectory | PostgresDirectory;
  server: ScimServer;
  code: string;
  logs: string[];
  mode: { value: ImportMode };
  clock: { now: Date };
  close(): Promise<void>;
}

/** Issues a Secret Code in `store` (as `dirsync token renew` does) and returns the plain code. */
export async function issueCode(store: DirectoryStore, now: Date, graceMs = 24 * 3600_000, months = 6): Promise<string> {
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

let databases = 0;

/**
 * The fixture's store: a temp SQLite directory, or — when vitest.postgres.config.ts runs the SCIM
 * suites again (DIRSYNC_TEST_STORE=postgres) — a fresh database in that run's PostgreSQL cluster.
 */
async function openStore(dir: string): Promise<SqliteDirectory | PostgresDirectory> {
  if (process.env.DIRSYNC_TEST_STORE !== 'postgres') return openSqliteDirectory(path.join(dir, 'directory.db'));
  const adminUrl = inject('postgresAdminUrl');
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const name = `scim_${process.pid}_${++databases}`;
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const { openPostgresDirectory } = await import('../../src/directory/postgres/directory.js');
  return openPostgresDirectory(adminUrl.replace(/\/postgres$/, `/${name}`));
}

/** A temp directory store (SQLite, or PostgreSQL; see openStore), a Secret Code, and the SCIM server on 127.0.0.1 (port 0). */
export async function startFixture(
  options: { importMode?: ImportMode; maxBodyBytes?: number; oversize?: Partial<OversizeBounds> } = {},
): Promise<ScimFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-scim-'));
  const store = await openStore(dir);
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
      if (store.backend === 'postgres') await store.closed();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
