#!/usr/bin/env node
// The one process entry: `consentcast <role|command>`. Roles and commands live in src/cli.
import { loadDotEnv, runCli } from '../src/cli/main.js';

loadDotEnv();
const code = await runCli(process.argv.slice(2), process.env);
process.exit(code);
