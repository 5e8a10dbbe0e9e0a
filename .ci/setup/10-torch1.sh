# Debian's torch 1.13 (it writes the older layouts). It lives under /usr/bin/python3, not the python3
# first on PATH. Sourced by .ci/run; exports X_TORCH_PYTHON.
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy >/dev/null \
    || { echo "could not install python3-torch"; return 1; }
fi
export X_TORCH_PYTHON=/usr/bin/python3
