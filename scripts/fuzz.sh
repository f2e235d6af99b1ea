#!/usr/bin/env bash
# Fuzzes Quiver's input parsers with libFuzzer and AddressSanitizer (docs/operations.md has the
# targets; Sources/quiver-fuzz/FuzzTargets.swift what each checks):
#
#   scripts/fuzz.sh TARGET [SECONDS]    one of filter, request, segment-file, keys (default 60 s)
#   scripts/fuzz.sh all [SECONDS]       each in turn
#
# The seeds are Tests/Fuzz/TARGET/ (read only); what the fuzzer finds new goes to
# .build-fuzz/corpus/TARGET/, and a crash, hang or sanitizer report to .build-fuzz/findings/TARGET/
# — then the script exits 1. Copy a finding into Tests/Fuzz/TARGET/ once it is fixed: the test
# suite replays every file there (FuzzReplayTests). Prints each run's corpus size and coverage.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh filter|request|segment-file|keys|all [SECONDS]}
seconds=${2:-60}
targets=(filter request segment-file keys)
if [ "$target" != all ]; then
  found=0
  for t in "${targets[@]}"; do [ "$t" = "$target" ] && found=1; done
  if [ $found = 0 ]; then echo "fuzz: unknown target '$target' (${targets[*]} or all)" >&2; exit 64; fi
  targets=("$target")
fi

# QUIVER_FUZZ_NO_BUILD=1 reuses the build (for runs in parallel, one per core).
if [ -z "${QUIVER_FUZZ_NO_BUILD:-}" ]; then
  scripts/bootstrap.sh
  echo "fuzz: building quiver-fuzz with -sanitize=fuzzer,address into .build-fuzz" >&2
  swift build --scratch-path .build-fuzz --product quiver-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2
fi
binary=.build-fuzz/debug/quiver-fuzz

status=0
for t in "${targets[@]}"; do
  corpus=.build-fuzz/corpus/$t
  findings=.build-fuzz/findings/$t
  mkdir -p "$corpus" "$findings"
  log=.build-fuzz/fuzz-$t.log
  echo "fuzz: $t for $seconds s" >&2
  # rss_limit_mb bounds memory per input: an input that makes a parser allocate gigabytes is a
  # finding. The one known leak (FAISS's read_index, Tests/Fuzz/lsan-suppressions.txt) is
  # suppressed; every other sanitizer report fails the run.
  rss=2048
  # The slow unwinder on malloc for segment-file: libfaiss.a has no frame pointers, and without it
  # a leak's stack stops at FAISS's frame and no suppression can name it (it costs the other
  # targets most of their speed, and they never reach FAISS). allocator_may_return_null: an
  # allocation no machine can satisfy fails as it does outside the sanitizer (std::bad_alloc,
  # which the shim turns into an error) instead of aborting — FAISS's reader sizes vectors by the
  # file (see docs/operations.md, "Fuzzing").
  fast_unwind=1
  if [ "$t" = segment-file ]; then fast_unwind=0; fi
  if ASAN_OPTIONS=fast_unwind_on_malloc=$fast_unwind:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=Tests/Fuzz/lsan-suppressions.txt \
      QUIVER_FUZZ_TARGET=$t "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=$rss \
      -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" "Tests/Fuzz/$t" >"$log" 2>&1; then
    summary=$(grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1 || true)
    echo "fuzz: $t ok — ${summary:-no stats}; corpus $(ls "$corpus" | wc -l) new + $(ls "Tests/Fuzz/$t" | wc -l) seeds" >&2
  else
    echo "fuzz: $t FAILED; the input is in $findings/ and the report in $log:" >&2
    grep -E 'ERROR|Fatal|Precondition|panic|==[0-9]+==' "$log" | head -20 >&2 || tail -30 "$log" >&2
    status=1
  fi
done
exit $status
