#!/usr/bin/env node
// Process entry for the push role (the same as `consentcast push`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['push', ...process.argv.slice(2)], process.env));
