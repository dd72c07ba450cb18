import { ConfigError } from '../../../common/config';
import { loadConfig } from '../../../model-server/config';

describe('model-server config', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ model: 'digits', version: '1' }, {});
    expect(config).toMatchObject({
      model: 'digits',
      version: '1',
      PORT: 8501,
      HOST: '127.0.0.1',
      MODEL_STORE: './models',
      REGISTRY_URL: 'http://127.0.0.1:8100',
      HEARTBEAT_INTERVAL_MS: 2000,
      TFJS_BACKEND: 'auto',
      MAX_BATCH_SIZE: 32,
      MAX_BATCH_DELAY_MS: 2,
      MAX_QUEUE_ROWS: 1024,
      BODY_LIMIT: '8mb',
      SHUTDOWN_DEADLINE_MS: 10000,
    });
    expect(config.PUBLIC_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the model from MODEL_NAME / MODEL_VERSION when no flags are given, flags winning', () => {
    expect(loadConfig({}, { MODEL_NAME: 'penguins', MODEL_VERSION: '2' })).toMatchObject({
      model: 'penguins',
      version: '2',
    });
    expect(loadConfig({ version: '3' }, { MODEL_NAME: 'penguins', MODEL_VERSION: '2' }).version).toBe('3');
  });

  it.each([
    [{ PORT: '80a' }, /PORT: .*got "80a"/],
    [{ MAX_BATCH_SIZE: '0' }, /MAX_BATCH_SIZE/],
    [{ MAX_BATCH_DELAY_MS: '-1' }, /MAX_BATCH_DELAY_MS/],
    [{ TFJS_BACKEND: 'webgl' }, /TFJS_BACKEND/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/],
    [{ BODY_LIMIT: '8 megs' }, /BODY_LIMIT: expected a size/],
    [
      { MAX_BATCH_SIZE: '64', MAX_QUEUE_ROWS: '32' },
      /MAX_QUEUE_ROWS: must be at least MAX_BATCH_SIZE \(64\)/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig({ model: 'm', version: '1' }, env)).toThrow(ConfigError);
    expect(() => loadConfig({ model: 'm', version: '1' }, env)).toThrow(message);
  });

  it('refuses a missing or path-escaping model name', () => {
    expect(() => loadConfig({}, {})).toThrow(/MODEL_NAME: required: pass --model M/);
    expect(() => loadConfig({ model: 'm' }, {})).toThrow(/MODEL_VERSION: required: pass --version V/);
    expect(() => loadConfig({ model: '../x', version: '1' }, {})).toThrow(/MODEL_NAME/);
  });
});
