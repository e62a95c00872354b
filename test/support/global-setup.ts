import fs from 'node:fs';
import { TRANSCRIPT_DIR } from './cli.js';

/** A fresh transcript dir for each `npm test`, read afterwards by test/leak. */
export default function setup(): void {
  fs.rmSync(TRANSCRIPT_DIR, { recursive: true, force: true });
  fs.mkdirSync(TRANSCRIPT_DIR, { recursive: true });
}
