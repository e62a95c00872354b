#!/usr/bin/env node
// Tiny on purpose: everything lives in the built CLI, which imports heavy modules only when a command needs them.
import { main } from '../dist/cli/main.js';

main(process.argv);
