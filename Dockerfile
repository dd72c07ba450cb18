# syntax=docker/dockerfile:1
# One image for every modelgate service; the command picks which one runs:
#   docker run modelgate registry
#   docker run modelgate model-server --model digits --version 1
#   docker run modelgate gateway
# Size and what dominates it: docs/deployment.md#image-size.

ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

# ---- prod-deps: production dependencies only, tfjs-node included ----------------------------------
# The full bookworm image has python3, make and g++ in case node-pre-gyp has to compile the tfjs-node
# binding; none of that reaches the runtime image.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# tfjs-node downloads libtensorflow in its install script. npm 10 runs install scripts by default;
# npm 11 reviews them against `allowScripts` and will block unreviewed ones in a later release, so
# the one package that needs its script is allowed by name (npm 10 ignores the unknown flag).
# The require() afterwards fails the build when the native binding did not install: an optional
# dependency fails silently otherwise, and the image would quietly fall back to wasm.
RUN npm ci --omit=dev --no-audit --no-fund --allow-scripts=@tensorflow/tfjs-node \
 && node -e "require('@tensorflow/tfjs-node')" \
 && find node_modules -type f -name '*.map' -delete \
 && npm cache clean --force
# Source maps are ~200 MB of the production tree and nothing reads them at run time.

# ---- build: compile TypeScript and pick the shipped model artifacts --------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The compiler needs the dev dependencies but not tfjs-node (types come from @tensorflow/tfjs).
RUN npm ci --omit=optional --no-audit --no-fund
COPY . .
RUN npm run build
# The store seed: every models/<model>/ folder that holds at least one <version>/model.json (this
# leaves out models/train, the training code).
RUN mkdir -p /store-seed \
 && for m in models/*/; do \
      if ls "$m"*/model.json >/dev/null 2>&1; then cp -r "$m" /store-seed/; fi; \
    done \
 && test -n "$(ls -A /store-seed)"

# ---- runtime -----------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    MODEL_STORE=/app/models \
    TFJS_BACKEND=auto \
    LOG_FORMAT=json
WORKDIR /app
# Code and dependencies belong to root and are read-only for the service user.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The shipped models belong to the service user: a named volume mounted on /app/models is seeded
# from here on first use (Docker copies image content into an empty volume), and the registry then
# writes pushed versions, policies and audit logs into it.
COPY --from=build --chown=node:node /store-seed ./models
RUN mkdir -p /app/logs && chown node:node /app/logs
# `node` (uid 1000) comes with the base image.
USER node
EXPOSE 8000 8100 8501
# No curl in the slim image: Node's fetch does the check. The service is read from PID 1's command
# line so one HEALTHCHECK fits all three (model-server: ready = model loaded and warmed up).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "-e", "const c=require('fs').readFileSync('/proc/1/cmdline','utf8');const m=c.includes('model-server');const p=process.env.PORT||(m?8501:c.includes('registry')?8100:8000);fetch('http://127.0.0.1:'+p+(m?'/v2/health/ready':'/health')).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["gateway"]
