/** A/B experiment bookkeeping in the gateway: feedback joins (POST /feedback) and the experiment
 * report (GET /experiments/:model). The gateway calls observe() once per answered prediction. */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger';
import type { Routes } from '../../common/wire';

export interface PredictionOutcome {
  requestId: string;
  model: string;
  version: string;
  /** The gateway route label, e.g. `/predict`, `oip_v2`, `tf_serving`. */
  route: string;
  status: number;
  /** False for 5xx and upstream failures (counted as errors in the report); 4xx are the caller's. */
  ok: boolean;
  latencyMs: number;
  /** Label of the predicted class (metadata output label), when the answer had one. */
  predictedClass?: string;
  confidence?: number;
  /** Epoch ms when the answer was sent. */
  at: number;
}

export interface ExperimentsDeps {
  registry: Registry;
  logger: Logger;
  now(): number;
  /** When set, the report is computed from Prometheus (right across gateway replicas). */
  prometheusUrl?: string;
  routes(): Routes | undefined;
}

export interface Experiments {
  /** POST /feedback and GET /experiments/:model; mount at the app root. */
  router: Router;
  observe(outcome: PredictionOutcome): void;
}

export function createExperiments(_deps: ExperimentsDeps): Experiments {
  // Interface first so the gateway can mount it; journal, feedback and report land next.
  return { router: Router(), observe() {} };
}
