import type { Command } from 'commander';

// Placeholder until the owning service lands; replaced by the real command set.
export function registerUpCommand(_program: Command): void {}
