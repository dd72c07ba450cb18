import type { Command } from 'commander';

// Placeholder until the monitoring work lands; replaced by `modelgate report M`.
export function registerReportCommand(_program: Command): void {}
