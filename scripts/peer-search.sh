#!/usr/bin/env bash
# The strongest in-process peers for single-query search, on the distribution `quiver-bench ivf`
# uses (docs/benchmarks.md, "Search speed"): PyPI faiss-cpu (AVX2) IndexHNSWFlat and IndexIVFFlat,
# in a virtualenv of their own (.build/peer-venv). Not part of CI.
#
#   scripts/peer-search.sh [--count N] [--queries N] [--spread S] ...   (see --help)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/peer-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import faiss, numpy" >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check faiss-cpu numpy
fi
exec "$venv/bin/python" scripts/peer_search.py "$@"
