import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** Load with `load` whenever `deps` change; `refreshMs` reloads periodically while it returns a number. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: (data: T) => number | undefined): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load()
      .then((data) => {
        if (!live) return;
        setState({ data, loading: false });
        const every = refreshMs?.(data);
        if (every !== undefined) timer.current = window.setTimeout(() => setTick((t) => t + 1), every);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setState({ error: e instanceof ApiError ? e : new ApiError(0, { title: 'Error', detail: String(e) }), loading: false });
      });
    return () => {
      live = false;
      window.clearTimeout(timer.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload };
}
