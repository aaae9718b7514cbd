#!/usr/bin/env node
// The `sekisho` command. Sekisho runs its TypeScript through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../controller/cli.ts');
process.exitCode = await main(process.argv.slice(2));
