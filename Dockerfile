# The production install (scripts/production-install.sh: npm ci, build, prune), in an image that
# runs the built server as an unprivileged user. Give it DATABASE_URL and a key (JWT_SECRET,
# JWT_JWKS_URL or JWT_PUBLIC_KEY); see docs/production.md.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN sh scripts/production-install.sh

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:4000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/src/main.js"]
