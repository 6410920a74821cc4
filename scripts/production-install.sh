#!/bin/sh
# The production install, run by the container recipe (Dockerfile) and checked by CI on a clean
# copy: install everything and build (npm ci runs `prepare`), then drop what only building and
# testing need: the dev dependencies and the optional embedded Postgres (production always has a
# DATABASE_URL). What is left starts with `node dist/src/main.js`.
set -eu
npm ci --no-audit --no-fund
npm prune --omit=dev --omit=optional --no-audit --no-fund
test -f dist/src/main.js
