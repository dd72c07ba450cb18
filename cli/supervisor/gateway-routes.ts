/** Waits until the gateway's routing table has a live instance of each version `up` started, so the
 * banner is printed when a request to any version can be answered: a model-server listens a moment
 * before its first heartbeat reaches the registry and then the gateway, and a request in between
 * gets 503 no_healthy_upstream (seen in CI). Bounded: a version that never becomes live (a model that
 * fails to load) must not hold the banner; the caller says which versions were not live yet. */
export interface RoutedVersion {
  model: string;
  version: string;
}

interface ModelInfo {
  models?: { name: string; versions?: { version: string; live_instances?: number }[] }[];
}

/** Resolves with the versions not live by the deadline (empty when all are). A gateway that will
 * not answer /model/info plainly (API keys, a refusal) ends the wait at once: it is a courtesy. */
export async function untilGatewayRoutes(options: {
  gatewayUrl: string;
  versions: readonly RoutedVersion[];
  timeoutMs: number;
  fetch?: typeof fetch;
  intervalMs?: number;
}): Promise<RoutedVersion[]> {
  const get = options.fetch ?? fetch;
  const deadline = Date.now() + options.timeoutMs;
  let missing = [...options.versions];
  while (missing.length > 0) {
    let info: ModelInfo;
    try {
      const res = await get(`${options.gatewayUrl}/model/info`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) return missing;
      info = (await res.json()) as ModelInfo;
    } catch {
      return missing;
    }
    missing = missing.filter(
      (v) =>
        !(
          (info.models?.find((m) => m.name === v.model)?.versions?.find((x) => x.version === v.version)
            ?.live_instances ?? 0) > 0
        ),
    );
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
  return missing;
}
