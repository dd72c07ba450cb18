/** Data loading for pages: fetch on mount and when inputs change, optionally again every `refreshMs`
 * (live pages update without a reload), abort what is in flight when the page goes away. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /** Epoch ms of the last successful load. */
  updatedAt: number | undefined;
  reload(): void;
}

export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  refreshMs?: number,
): Resource<T> {
  const [state, setState] = useState<Omit<Resource<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: true,
    updatedAt: undefined,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await loadRef.current(abort.signal);
        if (!abort.signal.aborted)
          setState({ data, error: undefined, loading: false, updatedAt: Date.now() });
      } catch (err) {
        if (abort.signal.aborted) return;
        setState((s) => ({ ...s, error: err as Error, loading: false }));
      }
      if (refreshMs && !abort.signal.aborted) timer = setTimeout(run, refreshMs);
    };
    setState((s) => ({ ...s, loading: true }));
    void run();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, refreshMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The admin token's presence, updated when it is entered or forgotten in this tab. */
export function useTokenPresent(read: () => string | undefined): boolean {
  const [present, setPresent] = useState(() => read() !== undefined);
  useEffect(() => {
    const update = () => setPresent(read() !== undefined);
    window.addEventListener('modelgate-token', update);
    return () => window.removeEventListener('modelgate-token', update);
  }, [read]);
  return present;
}
