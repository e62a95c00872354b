// The backends the store contract runs against: SQLite in a temp dir, and PostgreSQL in a
// throwaway cluster of this test file (test/support/postgres.ts), a fresh database per test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { openPostgresDirectory } from '../../src/directory/postgres/directory.js';
import type { DirectoryStore } from '../../src/directory/store.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A new, empty directory; `open()` opens it (again, or a second connection as another replica would). */
  fresh(): Promise<{ open(): Promise<DirectoryStore>; cleanup(): Promise<void> }>;
}

export async function closeStore(store: DirectoryStore): Promise<void> {
  store.close();
  const closed = (store as { closed?: () => Promise<void> }).closed;
  if (closed) await closed.call(store);
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async setup() {},
  async teardown() {},
  async fresh() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-contract-'));
    const file = path.join(dir, 'directory.db');
    return {
      open: async () => openSqliteDirectory(file),
      cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
};

let cluster: PostgresCluster | undefined;
let databases = 0;

export const postgresBackend: Backend = {
  name: 'postgres',
  async setup() {
    cluster = await startPostgres();
  },
  async teardown() {
    await cluster?.stop();
    cluster = undefined;
  },
  async fresh() {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start (see the first failure)');
    const url = await cluster.createDatabase(`contract_${process.pid}_${++databases}`);
    return { open: () => openPostgresDirectory(url), cleanup: async () => {} };
  },
};

export const backends = [sqliteBackend, postgresBackend];
