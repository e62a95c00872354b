import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';

let dir: string;
let store: SqliteDirectory;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-ckpt-'));
  store = openSqliteDirectory(path.join(dir, 'directory.db'));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('background WAL checkpoints (dirsync serve)', () => {
  it('the serving connection stops checkpointing in its COMMITs; a worker copies the WAL back', async () => {
    const checkpoints = await store.checkpointInBackground({ intervalMs: 50 });
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const now = new Date();
    for (let i = 0; i < 300; i++) await store.createUser({ userName: `user${i}@contoso.com`, title: 'x'.repeat(200) }, { mode: 'new-only', now });
    // The writes sit in the WAL (this connection no longer checkpoints, and 300 users are far below
    // SQLite's own threshold): the database file grows only because the worker copies them back.
    const size = () => fs.statSync(store.path).size;
    const before = size();
    await until(() => size() > before);
    expect(size()).toBeGreaterThan(before);
    await checkpoints.stop();
    expect((await store.queryUsers({}, { startIndex: 1, count: 1000 }, 'new-only')).total).toBe(300);
  });

  it('without it, the serving connection keeps SQLite\'s own checkpoints', () => {
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(10000);
  });
});
