import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type DatabaseConstructor from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * WAL checkpoints off the request path, for `dirsync serve`. A checkpoint copies the WAL back into
 * the database file and fsyncs both; run by SQLite inside a COMMIT (its default), it stalls that
 * COMMIT — and every request waiting for it — for tens of milliseconds. Here the serving connection
 * never checkpoints (`wal_autocheckpoint = 0`); a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs` (default 1 s). PASSIVE never waits for or blocks a writer
 * or a reader; writers start the WAL over once a checkpoint has caught up with it.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true, nativeBinding: workerData.binding });
db.pragma('wal_autocheckpoint = 0');
const run = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ checkpointed: r.checkpointed, log: r.log });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

/**
 * Once a second: often enough that the WAL stays small, rarely enough that a hot page (a table's
 * last leaf, an index's) is copied back once per many commits rather than every few.
 */
const DEFAULT_INTERVAL_MS = 1000;

export interface BackgroundCheckpoints {
  /** Stops the worker after a last checkpoint; resolves when it has exited. */
  stop(): Promise<void>;
}

export function startBackgroundCheckpoints(
  db: DatabaseConstructor.Database,
  file: string,
  options: { intervalMs?: number; binding?: string; onError?: (message: string) => void } = {},
): BackgroundCheckpoints {
  const autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  db.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, module: require.resolve('better-sqlite3'), binding: options.binding, intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS },
  });
  worker.unref();
  let failed = false;
  const fallBack = (message: string) => {
    if (failed) return;
    failed = true;
    // Without the worker, SQLite checkpoints inside COMMIT again, as it did before.
    if (db.open) db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
    options.onError?.(message);
  };
  worker.on('message', (m: { error?: string }) => {
    if (m.error) fallBack(`background WAL checkpoint failed: ${m.error}`);
  });
  worker.on('error', (error) => fallBack(`background WAL checkpoint worker failed: ${error.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.ref(); // the process waits for the last checkpoint
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 5_000);
      timeout.unref();
      await exited;
      clearTimeout(timeout);
    },
  };
}
