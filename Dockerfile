# syntax=docker/dockerfile:1
# consentcast: one image for every process role: `docker run IMAGE <role|command>` (docs/docker.md).
#
# test/integration/image/image-steps.test.ts performs these steps without Docker: it reads this file,
# runs its RUN and COPY lines in temporary directories and starts the ENTRYPOINT. It understands only
# the instructions and flags used here and fails on anything else: extend it when you extend this file.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency install scripts, whatever the base image's npm makes of package.json allowScripts: it
# approves only esbuild, which the build does not use.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: valibot (of @bull-board/api) names typescript as an optional peer, which makes
# the lockfile mark typescript devOptional, installed by --omit=dev alone. The other optional packages
# are unused here (firebase-admin's firestore/storage, msgpackr's native speed-up; both load lazily).
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
# dist/src, dist/workers and dist/migrations: the migrator finds dist/migrations from dist/src/db.
COPY --from=build /app/dist ./dist
# The code stays root-owned: the process cannot change what it runs.
USER node
ENV HTTP_HOST=0.0.0.0 HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/workers/consentcast.js"]
CMD ["api"]
