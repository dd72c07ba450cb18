import type { Command } from 'commander';
import { runRegistry } from '../../registry/main';

export function registerRegistryCommands(program: Command): void {
  program
    .command('registry')
    .description(
      'run the registry service (versions, traffic policies, audit log, live instances) on PORT (8100)',
    )
    .action(async () => {
      await runRegistry();
    });
}
