# Sourced by the scripts that run Python tools (moto, cfn-lint, schemathesis, cargo-lambda, boto3).
# Where the system Python refuses pip installs (PEP 668: Debian 12, Ubuntu 24.04, ...), the tools
# live in a virtual environment, .venv at the repository root, put first on PATH; elsewhere pip
# installs as it always did. Debian's venv needs its python3-venv package.
python_env() {
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' 2>/dev/null; then
    if [ ! -x .venv/bin/python3 ]; then
      echo "== this Python is externally managed (PEP 668): the tools go to .venv"
      python3 -m venv .venv || { echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2; return 1; }
    fi
    export VIRTUAL_ENV="$PWD/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
  fi
}

# pip_install ARGS...: pip install into the environment python_env chose.
pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check "$@"
}

python_env
