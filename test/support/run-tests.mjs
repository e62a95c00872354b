// `npm test`: the whole suite, then the leak check over everything the suite's dirsync processes
// printed. The transcripts go to a directory of this run only, so parallel runs cannot mix.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-transcripts-'));
const env = { ...process.env, DIRSYNC_TEST_TRANSCRIPTS: dir };
const vitest = path.join('node_modules', 'vitest', 'vitest.mjs');
const run = (args) => spawnSync(process.execPath, [vitest, 'run', ...args], { stdio: 'inherit', env }).status ?? 1;

let status = run(process.argv.slice(2));
if (status === 0) status = run(['--config', 'vitest.leak.config.ts']);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(status);
