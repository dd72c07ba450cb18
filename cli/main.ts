#!/usr/bin/env node
/** The one `modelgate` binary: every service as a container runs it, plus the operator's commands.
 * Each command family lives in its own file under cli/commands and registers itself here. */
import { Command } from 'commander';
import { packageVersion } from '../common/package-info';
import { registerDeployCommands } from './commands/deploy';
import { registerExperimentCommands } from './commands/experiment';
import { registerFeaturesCommands } from './commands/features';
import { registerGatewayCommands } from './commands/gateway';
import { registerModelServerCommand } from './commands/model-server';
import { registerRegistryCommands } from './commands/registry';
import { registerReportCommand } from './commands/report';
import { registerRolloutCommands } from './commands/rollout';
import { registerTrackingCommands } from './commands/tracking';
import { registerUpCommand } from './commands/up';

const program = new Command('modelgate')
  .description('Serve TensorFlow.js models behind one gateway and run A/B experiments between versions')
  .version(packageVersion(__dirname), '-V, --version', 'print the modelgate version')
  .showHelpAfterError()
  // Program options only before the command: `push --version 3` is the push's own option.
  .enablePositionalOptions();

registerModelServerCommand(program);
registerRegistryCommands(program);
registerGatewayCommands(program);
registerUpCommand(program);
registerReportCommand(program);
registerDeployCommands(program);
registerRolloutCommands(program);
registerExperimentCommands(program);
registerTrackingCommands(program);
registerFeaturesCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`modelgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
