/** Loads TensorFlow.js once per process and picks the fastest backend available here.
 * tfjs-node is an optional dependency: it ships in the Docker image but cannot install offline,
 * so `auto` falls back to wasm (10-30x faster than the pure-JS cpu backend on small nets), then cpu. */
import type * as TF from '@tensorflow/tfjs';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type Tf = typeof TF;

export interface LoadedTf {
  tf: Tf;
  backend: Exclude<BackendName, 'auto'>;
}

function tryRequire<T>(id: string): T | undefined {
  try {
    return require(id) as T;
  } catch {
    return undefined;
  }
}

let loading: Promise<LoadedTf> | undefined;

/** tfjs keeps its engine in a process-wide global, so the choice is made once and shared. */
export function loadTf(wanted: BackendName = 'auto'): Promise<LoadedTf> {
  loading ??= selectBackend(wanted);
  return loading;
}

async function selectBackend(wanted: BackendName): Promise<LoadedTf> {
  if (wanted === 'auto' || wanted === 'tensorflow') {
    // tfjs-node registers the 'tensorflow' backend and re-exports tfjs; a missing or broken native
    // binding throws here, which is exactly the signal to fall back.
    const node = tryRequire<Tf>('@tensorflow/tfjs-node');
    if (node && (await node.setBackend('tensorflow'))) {
      node.enableProdMode();
      return { tf: node, backend: 'tensorflow' };
    }
    if (wanted === 'tensorflow')
      throw new Error('TFJS_BACKEND=tensorflow but @tensorflow/tfjs-node is not installed');
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  tf.enableProdMode();
  if (wanted === 'auto' || wanted === 'wasm') {
    const wasm = tryRequire<unknown>('@tensorflow/tfjs-backend-wasm');
    if (wasm && (await tf.setBackend('wasm').catch(() => false))) return { tf, backend: 'wasm' };
    if (wanted === 'wasm')
      throw new Error('TFJS_BACKEND=wasm but @tensorflow/tfjs-backend-wasm failed to initialise');
  }
  await tf.setBackend('cpu');
  return { tf, backend: 'cpu' };
}
