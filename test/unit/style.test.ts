import { describe, expect, it } from 'vitest';
import { colorLevel, createStyle, visibleLength } from '../../src/cli/style.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colour level of a stream that is not the process\'s own (tests, embedding)', () => {
  it('colours a terminal, not a pipe, not TERM=dumb', () => {
    expect(colorLevel(tty, { TERM: 'xterm-256color' }, true)).toBe(1);
    expect(colorLevel(pipe, { TERM: 'xterm-256color' }, true)).toBe(0);
    expect(colorLevel(tty, { TERM: 'dumb' }, true)).toBe(0);
  });

  it('--no-color and NO_COLOR win over a terminal and FORCE_COLOR; FORCE_COLOR colours a pipe, FORCE_COLOR=0 turns it off', () => {
    expect(colorLevel(tty, {}, false)).toBe(0);
    expect(colorLevel(tty, { NO_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel(pipe, { NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel(pipe, { FORCE_COLOR: '1' }, true)).toBe(1);
    expect(colorLevel(tty, { FORCE_COLOR: '0' }, true)).toBe(0);
    // An empty NO_COLOR does not count (no-color.org).
    expect(colorLevel(tty, { NO_COLOR: '' }, true)).toBe(1);
  });
});

describe('chalk at the level decided', () => {
  it('writes no escape code at level 0, and measures cells without them', () => {
    expect(createStyle(0).yellow('expiring')).toBe('expiring');
    const coloured = createStyle(1).yellow('expiring');
    expect(coloured).toBe('\u001b[33mexpiring\u001b[39m');
    expect(visibleLength(coloured)).toBe(8);
  });
});
