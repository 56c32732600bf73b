#!/usr/bin/env node
// Process entry for the all role (the same as `consentcast all`): every role in one process.
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
process.exit(await runCli(['all', ...process.argv.slice(2)], process.env));
