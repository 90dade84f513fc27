/** The console's JSON API (console-server.ts in @tributary/broker), from the browser. */
import { useCallback, useEffect, useState } from 'react';

export class ApiError extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await response.json()) as T | { error: string };
  if (!response.ok) throw new ApiError((body as { error: string }).error ?? response.statusText);
  return body as T;
}

export async function postJson<T>(path: string, request: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as T | { error: string };
  if (!response.ok) throw new ApiError((body as { error: string }).error ?? response.statusText);
  return body as T;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly reload: () => void;
}

/** GETs `path` now and every `refreshMs` (0: once), keeping the last answer while it reloads. */
export function useApi<T>(path: string, refreshMs = 0): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  useEffect(() => {
    let live = true;
    getJson<T>(path).then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (reason: unknown) => live && setError(reason instanceof Error ? reason.message : 'failed'),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  useEffect(() => {
    if (refreshMs <= 0) return undefined;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, reload]);
  return { data, error, reload };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatMs(text: string): string {
  const ms = Number(text);
  if (text === '' || !Number.isFinite(ms)) return text || '—';
  if (ms < 0) return 'forever';
  const hours = ms / 3_600_000;
  return hours >= 24 ? `${(hours / 24).toFixed(1)} d` : `${hours.toFixed(1)} h`;
}
