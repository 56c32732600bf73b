#!/usr/bin/env node
// Process entry for the campaign-runner role (the same as `consentcast campaign-runner`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['campaign-runner', ...process.argv.slice(2)], process.env));
