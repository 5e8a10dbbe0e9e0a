# torch 2.13 with safetensors, transformers and accelerate, from the machine's local wheelhouse
# (never the public index), in a venv beside the repo. Sourced by .ci/run; exports X_TORCH2_PYTHON.
venv="$PWD/.venv-torch2"
if ! "$venv/bin/python" -c 'import torch, safetensors, transformers, accelerate' >/dev/null 2>&1; then
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install -q --index-url file:///opt/pypi/simple --extra-index-url file:///opt/pypi-more/simple \
    --find-links /opt/wheels 'torch==2.13.0' 'safetensors==0.8.0' 'accelerate==1.15.0' 'transformers==5.18.0' numpy \
    >/tmp/x-pip-torch2.log 2>&1 || { tail -20 /tmp/x-pip-torch2.log; echo "could not install torch 2.13 from the local wheelhouse"; return 1; }
fi
export X_TORCH2_PYTHON="$venv/bin/python"
