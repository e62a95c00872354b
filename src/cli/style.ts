import { stripVTControlCharacters } from 'node:util';
import { Chalk, supportsColor, supportsColorStderr, type ChalkInstance, type ColorSupportLevel } from 'chalk';

/** Colours are chalk's: one instance per output stream, at the level decided for that stream. */
export type Style = ChalkInstance;

export function createStyle(level: ColorSupportLevel): Style {
  return new Chalk({ level });
}

/**
 * The colour level of one output stream. Off with --no-color or NO_COLOR (which chalk leaves to the
 * program). For the process's own stdout and stderr it is chalk's detection (FORCE_COLOR, whether
 * the stream is a terminal, TERM=dumb, CI, …). chalk can only look at those two file descriptors;
 * for any other stream (tests hand in their own) it is what can be known from the stream and the
 * environment: FORCE_COLOR forces basic colours (0 or false turns them off), else a terminal that
 * is not TERM=dumb gets them.
 */
export function colorLevel(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
  flag: boolean,
): ColorSupportLevel {
  if (!flag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return 0;
  if (env === process.env) {
    if (stream === process.stdout) return supportsColor ? supportsColor.level : 0;
    if (stream === process.stderr) return supportsColorStderr ? supportsColorStderr.level : 0;
  }
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false' ? 0 : 1;
  return stream.isTTY && env.TERM !== 'dumb' ? 1 : 0;
}

/** The width of a cell as shown: without its colour codes. */
export const visibleLength = (text: string) => stripVTControlCharacters(text).length;
