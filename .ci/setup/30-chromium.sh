# Chromium from Debian's packages, for the browser tests (never a downloaded browser build).
# Sourced by .ci/run; exports X_CHROMIUM, the executable the browser tests launch headless.
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || { echo "could not install chromium"; return 1; }
fi
export X_CHROMIUM=/usr/bin/chromium
