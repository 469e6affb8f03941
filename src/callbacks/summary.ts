// One app's callback deliveries at a glance, for the native API and the console's overview:
// what waits, what was given up, what this process delivered, and how far behind the oldest
// waiting delivery is (the "callback lag").
import type { AppId } from '../core/model.js';
import type { CallbackMetrics } from './metrics.js';
import type { CallbackAdmin } from './service.js';
import type { CallbackSpool } from './spool.js';

export interface DeliverySummary {
  /** Whether the app has a callback configuration in effect. */
  configured: boolean;
  /** In the spool, waiting or being retried. */
  pending: number;
  /** Given up (kept; re-sendable). */
  failed: number;
  /** Accepted by the receiver, sent by this process since it started. */
  delivered: number;
  /** The event time (ms) of the oldest pending delivery; null when none waits. */
  oldestPendingAt: number | null;
  /** Seconds the oldest pending delivery has waited: 0 when none waits, null when not configured and none waits. */
  lagSeconds: number | null;
}

export async function deliverySummary(
  deps: { spool: CallbackSpool; service: CallbackAdmin; metrics?: CallbackMetrics },
  appId: AppId,
  now = Date.now(),
): Promise<DeliverySummary> {
  const counts = (await deps.spool.counts()).find((c) => c.appId === appId);
  const pending = counts?.pending ?? 0;
  // The spool's order is the event order per app (a re-send counts from its re-send time).
  const oldest = pending > 0 ? (await deps.spool.pending(appId, 0, 1))[0] : undefined;
  let delivered = 0;
  if (deps.metrics) {
    const m = await deps.metrics.delivered.get();
    delivered = m.values.find((v) => v.labels.app === String(appId))?.value ?? 0;
  }
  const configured = deps.service.get(appId) !== null;
  const oldestPendingAt = oldest ? oldest.createdAt : null;
  return {
    configured,
    pending,
    failed: counts?.failed ?? 0,
    delivered,
    oldestPendingAt,
    lagSeconds: oldestPendingAt !== null ? Math.max(0, Math.round((now - oldestPendingAt) / 100) / 10) : configured ? 0 : null,
  };
}
