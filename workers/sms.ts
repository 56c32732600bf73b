#!/usr/bin/env node
// Process entry for the sms role (the same as `consentcast sms`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['sms', ...process.argv.slice(2)], process.env));
