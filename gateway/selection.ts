import type { ModelRoute } from './routing/route-state';
import type { Selection } from './routing/split';

/** The caller's routing wishes: a version or label from the path beats the X-Model-* headers; the
 * sticky key is the policy's sticky header, else user_id from the body. */
/** What selectionOf reads of a request: Express's `req.get`, or prediction-call.ts's headerSource. */
export interface HeaderSource {
  get(name: string): string | undefined;
}

export function selectionOf(
  req: HeaderSource,
  model: ModelRoute,
  fromPath: { version?: string | undefined; label?: string | undefined } = {},
  userId?: string,
): Selection {
  const sticky = model.policy.sticky;
  const stickyHeader = sticky ? req.get(sticky.header) : undefined;
  return {
    version: fromPath.version ?? nonEmpty(req.get('x-model-version')),
    label:
      fromPath.version === undefined ? (fromPath.label ?? nonEmpty(req.get('x-model-label'))) : undefined,
    stickyKey: nonEmpty(stickyHeader) ?? userId,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}
