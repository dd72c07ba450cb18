/** The model-server's HTTP app: OIP v2 and TF Serving routers over one batched predict, /metrics,
 * and the ready state the health endpoints and heartbeats report. Never listens (main.ts does). */
import type { RequestListener } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { parseByteLimit } from '../common/body-limit';
import {
  AppError,
  errorMiddleware,
  notFoundHandler,
  renderProtocolError,
  toAppError,
} from '../common/errors';
import { metricsHandler } from '../common/http';
import type { Logger } from '../common/logger';
import { securityHeaders } from '../common/security-headers';
import { type Batcher, createBatcher } from './batcher';
import type { ModelServerConfig } from './config';
import { frontDoor } from './front-door';
import { inferenceRoutes } from './inference-routes';
import type { ModelServerMetrics } from './metrics';
import { type ServedModel, warmUp } from './model-loader';
import { createOipV2Router } from './protocol/oip-v2';
import { createTfServingRouter } from './protocol/tf-serving';

/** Receives every executed batch; the drift monitor implements it. `rows` is the batch's own flat
 * buffer (n × width, row-major) and `predicted` the class index of each row: read them, keep nothing. */
export interface DriftObserver {
  observeBatch(rows: Float32Array, n: number, predicted: Int32Array): void;
}

export interface ModelServerDeps {
  config: Pick<ModelServerConfig, 'MAX_BATCH_SIZE' | 'MAX_BATCH_DELAY_MS' | 'MAX_QUEUE_ROWS' | 'BODY_LIMIT'> &
    Partial<Pick<ModelServerConfig, 'METRICS_TOKEN'>>;
  logger: Logger;
  /** The app's own prom-client Registry, already holding `metrics`. */
  registry: Registry;
  metrics: ModelServerMetrics;
  model: ServedModel;
  drift: DriftObserver;
  now(): number;
  serverVersion: string;
}

export interface ModelServerApp {
  /** The request listener: inference on plain node:http, the rest through Express. */
  app: RequestListener;
  batcher: Batcher;
  /** Runs every batch-size class once, then marks the server ready. */
  warmUp(): number[];
  isReady(): boolean;
  /** SIGTERM: not ready any more (health 503); requests already arriving are still answered. */
  stopBeingReady(): void;
}

export function createApp(deps: ModelServerDeps): ModelServerApp {
  const { config, logger, metrics, model, drift } = deps;
  let warmedUp = false;
  let draining = false;

  const observeDrift = (rows: Float32Array, n: number, classIndex: Int32Array) => {
    try {
      drift.observeBatch(rows, n, classIndex);
    } catch (err) {
      logger.warn('drift monitor failed to observe a batch', { error: (err as Error).message });
    }
  };

  const batcher = createBatcher({
    maxBatchSize: config.MAX_BATCH_SIZE,
    maxDelayMs: config.MAX_BATCH_DELAY_MS,
    maxQueueRows: config.MAX_QUEUE_ROWS,
    width: model.inputWidth,
    now: deps.now,
    run: (rows, n) => model.predict(rows, n),
    onQueueChange: (rows) => metrics.queueRows(rows),
    onBatch: (report) => {
      metrics.batch(report.n, report.durationMs, report.waits);
      // Off the response path: the callers' promises are already resolved.
      setImmediate(observeDrift, report.rows, report.n, report.prediction.classIndex);
    },
  });

  const predict = (rows: Float32Array, n: number) => {
    if (!warmedUp) {
      return Promise.reject(
        new AppError('not_ready', 'model is still warming up; retry shortly', undefined, {
          'Retry-After': '1',
        }),
      );
    }
    return batcher.submit(rows, n);
  };
  const isReady = () => warmedUp && !draining;

  const countError = (err: unknown) => metrics.error(toAppError(err).code);
  const countErrors: ErrorRequestHandler = function countErrors(err, _req, _res, next) {
    countError(err);
    next(err);
  };

  const protocolDeps = {
    model,
    predict,
    isReady,
    serverVersion: deps.serverVersion,
    parameters: () => ({ tensors: model.numTensors(), max_batch_size: config.MAX_BATCH_SIZE }),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/metrics', metricsHandler(deps.registry, config.METRICS_TOKEN));
  app.use(createOipV2Router(protocolDeps));
  app.use(createTfServingRouter(protocolDeps));
  app.use(notFoundHandler());
  app.use(countErrors);
  app.use(errorMiddleware(logger, renderProtocolError));

  const listener = frontDoor({
    securityHeaders: securityHeaders().headers,
    draining: () => draining,
    countRequest: (protocol, status) => metrics.request(protocol, status),
    inference: inferenceRoutes({
      protocol: protocolDeps,
      bodyLimitBytes: parseByteLimit(config.BODY_LIMIT),
      logger,
      countError,
    }),
    app,
  });

  return {
    app: listener,
    batcher,
    warmUp() {
      const sizes = warmUp(model, config.MAX_BATCH_SIZE);
      warmedUp = true;
      metrics.ready(isReady());
      return sizes;
    },
    isReady,
    stopBeingReady() {
      draining = true;
      metrics.ready(false);
    },
  };
}
