import { PassThrough } from 'node:stream';

/** A stdout/stderr stand-in for in-process command tests: collects what was written, not a TTY. */
export class Sink extends PassThrough {
  text = '';
  isTTY = false;
  constructor() {
    super();
    this.setEncoding('utf8');
    this.on('data', (c: string) => (this.text += c));
  }
}
