/** Where the modelgate package is installed and its version, found from any file inside it (source
 * under ts-jest, or dist/ after the build), so the CLI works from any working directory. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface PackageInfo {
  root: string;
  version: string;
}

export function packageInfo(from: string): PackageInfo {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'modelgate' && pkg.version) return { root: dir, version: pkg.version };
    }
  }
  throw new Error(`no modelgate package.json above ${from}`);
}

export function packageVersion(from: string): string {
  try {
    return packageInfo(from).version;
  } catch {
    return '0.0.0';
  }
}
