#!/usr/bin/env node
// Process entry for the scheduler role (the same as `consentcast scheduler`).
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['scheduler', ...process.argv.slice(2)], process.env));
