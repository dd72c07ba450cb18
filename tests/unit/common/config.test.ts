import { z } from 'zod';
import { ConfigError, envFields, parseEnv } from '../../../common/config';

const Schema = z.object({
  PORT: envFields.port(8000),
  REGISTRY_URL: envFields.url('http://127.0.0.1:8100'),
  API_KEYS: envFields.csv(),
  ADMIN_TOKEN: envFields.optionalString(),
});

describe('parseEnv', () => {
  it('applies defaults when variables are absent', () => {
    const config = parseEnv(Schema, {});
    expect(config).toEqual({
      PORT: 8000,
      REGISTRY_URL: 'http://127.0.0.1:8100',
      API_KEYS: [],
      ADMIN_TOKEN: undefined,
    });
  });

  it('coerces and trims values', () => {
    const config = parseEnv(Schema, { PORT: '9001', API_KEYS: ' a, b ,,c ', ADMIN_TOKEN: '  ' });
    expect(config.PORT).toBe(9001);
    expect(config.API_KEYS).toEqual(['a', 'b', 'c']);
    expect(config.ADMIN_TOKEN).toBeUndefined();
  });

  it('freezes the result so no one mutates configuration after start-up', () => {
    const config = parseEnv(Schema, {});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable and the value it received', () => {
    let caught: unknown;
    try {
      parseEnv(Schema, { PORT: '80a', REGISTRY_URL: 'not a url' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems.find((p) => p.startsWith('PORT:'))).toContain('"80a"');
    expect(problems.find((p) => p.startsWith('REGISTRY_URL:'))).toContain('"not a url"');
  });

  it('rejects ports outside 0..65535', () => {
    expect(() => parseEnv(Schema, { PORT: '70000' })).toThrow(/PORT/);
  });
});
