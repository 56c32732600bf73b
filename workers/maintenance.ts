#!/usr/bin/env node
// Process entry for the maintenance role (the same as `consentcast maintenance`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['maintenance', ...process.argv.slice(2)], process.env));
