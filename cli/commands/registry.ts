import type { Command } from 'commander';

// Placeholder until the owning service lands; replaced by the real command set.
export function registerRegistryCommands(_program: Command): void {}
