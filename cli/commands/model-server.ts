import type { Command } from 'commander';

/** `modelgate model-server --model M --version V`: one model version, as its container runs it.
 * The service module is required lazily so other commands never load TF.js. */
export function registerModelServerCommand(program: Command): void {
  program
    .command('model-server')
    .description('Serve one model version over KServe OIP v2 and TF Serving REST, with dynamic batching')
    .option('--model <name>', 'model to serve (env MODEL_NAME)')
    .option('--version <name>', 'version to serve (env MODEL_VERSION)')
    .addHelpText(
      'after',
      '\nEnvironment: PORT (8501), HOST, MODEL_STORE (./models), REGISTRY_URL, PUBLIC_URL, TFJS_BACKEND\n' +
        '(auto|tensorflow|wasm|cpu), MAX_BATCH_SIZE (32), MAX_BATCH_DELAY_MS (2), MAX_QUEUE_ROWS (1024),\n' +
        'BODY_LIMIT (8mb), HEARTBEAT_INTERVAL_MS (2000), SHUTDOWN_DEADLINE_MS (10000), LOG_LEVEL, LOG_FORMAT',
    )
    .action(async (options: { model?: string; version?: string }) => {
      const { runModelServer } =
        require('../../model-server/main') as typeof import('../../model-server/main');
      await runModelServer(options);
    });
}
