#!/usr/bin/env node
// Process entry for the email role (the same as `consentcast email`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['email', ...process.argv.slice(2)], process.env));
