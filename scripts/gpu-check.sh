#!/usr/bin/env bash
# The GPU kit's check (scripts/gpu-kit.sh puts it at the kit's root): in one command on a machine with no Java and
# no network, `vit devices`, the tornado parity tests (tornado.recover.bailout=false) and `vit bench` of the tornado
# backend, with a JSON report.
#
#   vit-gpu-kit/gpu-check.sh OUT_DIR
#
# Writes OUT_DIR/report.json (kit, backend, each step's exit code and seconds, the test summary, one object per
# bench run), OUT_DIR/check.log (everything the steps printed), OUT_DIR/devices.txt and OUT_DIR/junit/ (JUnit XML).
# The backend is the first of ptx, opencl+ptx, opencl under which TornadoVM starts and finds a device.
# Settings (environment): VIT_CHECK_ARCHS (default "vit_tiny_patch16_224 vit_base_patch16_224"),
# VIT_CHECK_BATCHES ("1 32"), VIT_CHECK_PRECISIONS ("fp32 fp16"), VIT_CHECK_ITERS (10), VIT_CHECK_BENCH_LIMIT
# (seconds one bench run may take, 150), VIT_CHECK_TESTS (1; 0 skips
# the tests), VIT_CHECK_TEST_CLASSES (regex of test class names, '.*Tornado.*Test|.*BackendContractTest'),
# VIT_CHECK_TILES (other --tiles to bench on the last arch at the largest batch, fp32, after everything else; default
# "16x16x32,64x32 8x8x16,32x32 32x8x16,128x32"; empty: none), VIT_CHECK_BUDGET (seconds, 450:
# every step is cut off at the budget's end, and steps that would start with under 20 s left are skipped and
# reported so).
set -uo pipefail
kit="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: gpu-check.sh OUT_DIR}"
mkdir -p "$out/junit" || exit 1
out="$(cd "$out" && pwd)"
log="$out/check.log"
: >"$log"
archs="${VIT_CHECK_ARCHS-vit_tiny_patch16_224 vit_base_patch16_224}"
batches="${VIT_CHECK_BATCHES-1 32}"
precisions="${VIT_CHECK_PRECISIONS-fp32 fp16}"
iters="${VIT_CHECK_ITERS:-10}"
budget="${VIT_CHECK_BUDGET:-450}"
start=$SECONDS
unset JAVA_HOME CLASSPATH JAVA_TOOL_OPTIONS
export TORNADOVM_HOME="$kit/tornado"
export JAVA_OPTS="${JAVA_OPTS:--Xmx16g}"
vit="$kit/bin/vit"

say() { echo "[gpu-check $(date -u +%H:%M:%S) +$((SECONDS - start))s] $*" | tee -a "$log" >&2; }
json_str() { # a string as a JSON string literal
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/ /g' | tr -d '\000-\037')"
}
steps=()
step_json() { # name rc seconds [note]
  steps+=("{\"step\": $(json_str "$1"), \"rc\": $2, \"seconds\": $3${4:+, \"note\": $(json_str "$4")}}")
}

# ---- the driver's libraries (libcuda for the PTX backend), where the loader does not already know them ----
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
  if [ -e "$d/libcuda.so.1" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
done

# ---- OpenCL: the kit's ICD loader, pointed at NVIDIA's OpenCL library when the driver has one ----
if [ -f "$kit/lib/native/libOpenCL.so.1" ] && ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so\.1 '; then
  export LD_LIBRARY_PATH="$kit/lib/native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
nv_ocl=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 /{print $NF; exit}'; \
  ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null) \
  | head -n1)
if [ -n "$nv_ocl" ] && [ ! -f /etc/OpenCL/vendors/nvidia.icd ]; then
  mkdir -p "$kit/tornado/icd" && echo "$nv_ocl" >"$kit/tornado/icd/nvidia.icd"
  export OCL_ICD_VENDORS="$kit/tornado/icd"
fi

# ---- the argfile for a set of backends, from the SDK's template ----
argfile() { # backends... -> writes tornado/argfile-<joined> and prints its path
  local name; name=$(IFS=-; echo "$*")
  local f="$kit/tornado/argfile-$name" mp="$kit/tornado/share/java/tornado" b
  local sed_args=(-e "s|\${TORNADOVM_HOME}|$kit/tornado|g")
  for b in opencl ptx; do
    if [[ " $* " == *" $b "* ]]; then
      mp="$mp:$kit/tornado/share/java/tornado-$b"
    else
      sed_args+=(-e "s/,tornado\.drivers\.$b//g" -e "/tornado\.drivers\.$b/d")
    fi
  done
  sed "${sed_args[@]}" -e "s|^--module-path .*|--module-path $mp|" "$kit/tornado/tornado-argfile.template" >"$f"
  echo "$f"
}

say "kit: $(tr '\n' ';' <"$kit/VERSION")"
say "host: $(nproc) CPUs, $(uname -r); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
backend=""
for candidate in "ptx" "opencl ptx" "opencl"; do
  dir_ok=1
  for b in $candidate; do [ -d "$kit/tornado/share/java/tornado-$b" ] || dir_ok=0; done
  [ "$dir_ok" = 1 ] || continue
  # shellcheck disable=SC2086
  export VIT_TORNADO_ARGFILE="$(argfile $candidate)"
  t0=$SECONDS
  "$vit" devices >"$out/devices.txt" 2>&1
  rc=$?
  cat "$out/devices.txt" >>"$log"
  if [ $rc = 0 ] && grep -q '^tornado .*(available)' "$out/devices.txt"; then
    backend="$candidate"
    step_json "devices ($candidate)" 0 $((SECONDS - t0))
    break
  fi
  step_json "devices ($candidate)" "$rc" $((SECONDS - t0)) "$(grep '^tornado' "$out/devices.txt" | head -n1)"
  say "backend '$candidate' unavailable: $(grep '^tornado' "$out/devices.txt" | head -n1)"
done
cp "$VIT_TORNADO_ARGFILE" "$kit/tornado/tornado-argfile" 2>/dev/null
[ -n "$backend" ] || say "no TornadoVM backend works here; the tests and benchmarks will fail"
say "backend: ${backend:-none}"
say "$(sed -n '/^tornado/,$p' "$out/devices.txt")"

over_budget() { [ $((budget - (SECONDS - start))) -lt 20 ]; }
limit() { # seconds a step may take: at most $1, and never past the budget
  local left=$((budget - (SECONDS - start)))
  echo $((left < $1 ? left : $1))
}

# ---- bench ----
benches=()
bench() { # arch batch precision [more vit bench options...]
  local arch=$1 batch=$2 precision=$3 t0=$SECONDS rc f="$out/.bench.json"
  shift 3
  local extra=("$@")
  local what="\"arch\": \"$arch\", \"batch\": $batch, \"precision\": \"$precision\", \"options\": \"$*\""
  if over_budget; then
    benches+=("{$what, \"skipped\": \"time budget of ${budget}s spent\"}")
    return
  fi
  if [ "$precision" != fp32 ]; then
    if ! grep -q -- '--precision' <<<"$bench_help"; then
      benches+=("{$what, \"skipped\": \"not supported yet (no --precision in this build)\"}")
      return
    fi
  fi
  grep -q -- '--precision' <<<"$bench_help" && extra+=(--precision "$precision")
  say "bench $arch batch $batch $precision $*"
  timeout "$(limit "${VIT_CHECK_BENCH_LIMIT:-150}")" "$vit" bench --backend tornado --arch "$arch" --batch "$batch" --iters "$iters" --warmup 2 \
    --format json "${extra[@]}" >"$f" 2>>"$log"
  rc=$?
  if [ $rc = 0 ] && [ -s "$f" ]; then
    benches+=("{$what, \"seconds\": $((SECONDS - t0)), \"result\": $(cat "$f")}")
    cat "$f" >>"$log"
  else
    benches+=("{$what, \"rc\": $rc, \"seconds\": $((SECONDS - t0)), \"error\": $(json_str "$(tail -n 3 "$log")")}")
  fi
  rm -f "$f"
}
bench_help=$("$vit" bench --help 2>&1)

# fp32 first (the figures that matter most), then the tests, then the other precisions
for arch in $archs; do for batch in $batches; do bench "$arch" "$batch" fp32; done; done

# ---- tests ----
tests_json="{\"skipped\": \"VIT_CHECK_TESTS=0\"}"
if [ "${VIT_CHECK_TESTS:-1}" != 0 ]; then
  if over_budget; then
    tests_json="{\"skipped\": \"time budget of ${budget}s spent\"}"
  else
    say "tests (tornado.recover.bailout=false)"
    t0=$SECONDS
    . "$kit/bin/jvm-flags.sh"
    cp_tests="$kit/tests/vit-tests:$kit/tests/vit-tornado:$kit/lib/vit.jar:$kit/lib/vit-tornado.jar"
    for j in "$kit"/lib/test/*.jar; do cp_tests="$cp_tests:$j"; done
    (cd "$kit/tests" && timeout "$(limit 300)" "$kit/jre/bin/java" "${flags[@]}" "@$VIT_TORNADO_ARGFILE" \
      -Dtornado.recover.bailout=false -Xmx8g -cp "$cp_tests" org.junit.platform.console.ConsoleLauncher execute \
      --scan-classpath "$kit/tests/vit-tests" --scan-classpath "$kit/tests/vit-tornado" \
      --include-classname "${VIT_CHECK_TEST_CLASSES:-.*Tornado.*Test|.*BackendContractTest}" --details=summary --disable-banner --reports-dir "$out/junit") \
      >"$out/.tests.txt" 2>&1
    rc=$?
    cat "$out/.tests.txt" >>"$log"
    summary=$(grep -E '^\[ +[0-9]+ tests (found|successful|failed|aborted|skipped)' "$out/.tests.txt" | tr -s ' []' ' ' \
      | sed 's/^ //' | tr '\n' ';')
    tests_json="{\"rc\": $rc, \"seconds\": $((SECONDS - t0)), \"summary\": $(json_str "$summary")}"
    say "tests rc=$rc: $summary"
    rm -f "$out/.tests.txt"
  fi
fi

for precision in $precisions; do
  [ "$precision" = fp32 ] && continue
  for arch in $archs; do for batch in $batches; do bench "$arch" "$batch" "$precision"; done; done
done
# CUDA graphs (PTX only): the smallest and the largest run again, replayed as CUDA graphs
if [[ " $backend " == *" ptx "* ]] && grep -q -- '--cuda-graph' <<<"$bench_help"; then
  set -- $archs
  first_arch=$1
  last_arch=${!#}
  set -- $batches
  bench "$first_arch" "$1" fp32 --cuda-graph
  bench "$last_arch" "${!#}" fp32 --cuda-graph
fi
# other tile sizes for the GPU kernel forms (the defaults were measured on an H200 only)
if grep -q -- '--tiles' <<<"$bench_help"; then
  set -- $archs
  last_arch=${!#}
  set -- $batches
  for tiles in ${VIT_CHECK_TILES-16x16x32,64x32 8x8x16,32x32 32x8x16,128x32}; do
    bench "$last_arch" "${!#}" fp32 --tiles "$tiles"
  done
fi

# ---- report ----
{
  echo "{"
  echo "  \"kit\": $(json_str "$(tr '\n' ';' <"$kit/VERSION")"),"
  echo "  \"host\": $(json_str "$(nproc) CPUs; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"),"
  echo "  \"backend\": $(json_str "${backend:-none}"),"
  echo "  \"seconds\": $((SECONDS - start)),"
  echo "  \"steps\": [$(IFS=,; echo "${steps[*]}")],"
  echo "  \"tests\": $tests_json,"
  echo "  \"bench\": ["
  for i in "${!benches[@]}"; do
    [ "$i" -gt 0 ] && echo ","
    printf '    %s' "${benches[$i]}"
  done
  echo
  echo "  ]"
  echo "}"
} >"$out/report.json.tmp" && mv "$out/report.json.tmp" "$out/report.json"
say "done in $((SECONDS - start))s: $out/report.json"
[ -n "$backend" ]
