#!/usr/bin/env bash
# Makes sure the web UI's browser test (go test ./web, TestBrowser) can run:
# Debian's chromium (installed with apt-get, as root, when /usr/bin/chromium
# is missing; CHROMIUM names another build, which must then exist), Node.js
# 20 or later, and web/test's node_modules (npm ci, when they are missing or
# package-lock.json changed since the last npm ci). Quick when all is there.
# Exits non-zero, saying what is missing, if it cannot. Run by `make test`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/web/test

fail() {
  echo "browser: $*" >&2
  exit 1
}

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  [ "$chromium" = /usr/bin/chromium ] || fail "CHROMIUM=$chromium is not an executable file"
  [ "$(id -u)" -eq 0 ] || fail "the browser test needs chromium (install it with apt-get, as root)"
  echo "browser: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  [ -x "$chromium" ] || fail "apt-get installed chromium, but there is no $chromium"
fi
# Debian's launcher script warns on stderr about a small /dev/shm; the test
# passes --disable-dev-shm-usage, so only the exit status matters here.
"$chromium" --version >/dev/null 2>&1 || fail "$chromium --version failed"

command -v node >/dev/null 2>&1 || fail "the browser test needs Node.js 20 or later (node is not on PATH)"
command -v npm >/dev/null 2>&1 || fail "the browser test needs npm (it is not on PATH)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || fail "the browser test needs Node.js 20 or later, not $(node --version)"

# npm ci runs again when package-lock.json no longer matches the one the
# installed node_modules came from.
stamp=$dir/node_modules/.mediagate-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "browser: npm ci in web/test" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    fail "npm ci in web/test failed (is the npm registry reachable?)"
  echo "$want" >"$stamp"
fi
[ -f "$dir/node_modules/playwright-core/package.json" ] || fail "npm ci did not install playwright-core in web/test/node_modules"
