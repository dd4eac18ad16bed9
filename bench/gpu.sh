#!/usr/bin/env bash
# The evidence a lent GPU must give (issue 17), from one prepared command that ends inside its
# time budget, so that a 15-minute lease has room for a second try after a fix.
#
#   bench/gpu.sh [--budget SECONDS] [--cpu] [--out DIR] [--only STEPS]
#
# Steps, in order of priority; each prints its elapsed time:
#   1. the machine and the versions (nvidia-smi, torch, CUDA, cuDNN) and the requirements
#   2. every CUDA-only test of the suite (bench/gpu/cuda_tests.py selects them)
#   3. bench/train_throughput.py (eager, then compiled), e2e_throughput.py (eager, then
#      compiled) and data_throughput.py at their GPU sizes (TSM-R50 8x224, bf16, channels-last)
#   4. the smoke matrix at GPU size (bench/gpu/smoke/, 8 frames of 64 px), as 4 shards in
#      parallel on the one GPU, and its report
#   5. the speed table: every method at its published setting, bf16 (bench/speed_table.py)
#   6. the bundle, in --out: summary.txt (every figure beside its target, the steps, the
#      commands), log.txt (all output) and results.tar.gz, laid out like the repository
#      (bench/results/gpu_*.txt, reports/gpu_smoke/, reports/gpu_speed/, runs/gpu_smoke/), so
#      `tar -xzf results.tar.gz` in the checkout leaves it ready to commit.
#
# Budget: steps 1 and 6 always run (seconds each). Steps 2-5 share what step 1 leaves, less a
# reserve for the bundle, by the SHARES below; a step may also use what the steps before it
# left unused, is stopped (timeout) at the end of its share, and is skipped, saying so, when
# its time is under its minimum. Inside step 3 the benchmarks run in that order and each is
# skipped when the step's time left is under its minimum. --only 3,5 runs just those steps
# (with the whole budget), e.g. for a second try of what a first one skipped.
#
# --cpu runs the same steps at the smallest sizes on a CPU (no compile: inductor's C++ build
# takes minutes there), to check the script where no GPU is lent (tests/test_gpu_script.py);
# its files are named cpucheck_* instead of gpu_*.
#
# --out defaults to $OUT (the device tool's return folder) or runs/gpu-check.
#
# Dependencies on a device machine: it has no package index, and its image (python3 with
# torch, torchvision, numpy, pandas, matplotlib, PyYAML, tabulate, tqdm; see the device
# tool's KINDS.md) lacks pydantic, fvcore and PyAV. bench/gpu/wheels.sh, run beforehand on a
# machine with PyPI, puts them as wheels in .whl/; when step 1 finds a requirement unmet, it
# installs .whl/*.whl into a scratch folder on PYTHONPATH. The device run is then (device
# tool: carry [".whl"], timeout_s 360):   bench/gpu.sh
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
budget=300
mode=gpu
out=${OUT:-$REPO/runs/gpu-check}
only=2,3,4,5
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
refuse() { echo "bench/gpu.sh: $1 (see --help)" >&2; exit 2; }
while (($#)); do
  case $1 in
    --budget|--out|--only) (($# >= 2)) || refuse "$1 needs a value" ;;&
    --budget) budget=$2; shift 2 ;;
    --cpu) mode=cpu; shift ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) refuse "unknown argument '$1'" ;;
  esac
done
[[ $budget =~ ^[0-9]+$ ]] || refuse "--budget takes whole seconds, got '$budget'"
[[ $only =~ ^[2-5](,[2-5])*$ ]] || refuse "--only takes a comma-separated list of steps 2-5, got '$only'"

# ---------------------------------------------------------------- sizes, per mode
# SHARES: percent of the time after step 1; MINIMUM: seconds below which a step is skipped.
# GPU figures are estimates (no GPU has been lent yet): step 3 compiles TSM-R50 and ResNet-50
# training (about a minute each on 16 cores, inductor's usual range), step 4 is sized in
# bench/gpu/_base/smoke.yaml, step 5 times the 21 methods at 3 batch sizes (a few seconds each).
if [[ $mode == gpu ]]; then
  tag=gpu
  SHARES=([2]=8 [3]=45 [4]=30 [5]=17) MINIMUM=([2]=15 [3]=20 [4]=45 [5]=20)
  jpeg_videos=64
  train_args=(--steps 10 --warmup 3)
  data_args=()
  e2e_args=()
  shards=4
  smoke_sets=()
  speed_args=()
  synth_args=()
  report_reserve=15
  summary_args=()
else
  tag=cpucheck
  export OMP_NUM_THREADS=1  # one thread per process: the 2-core machines here are shared
  SHARES=([2]=12 [3]=25 [4]=40 [5]=23) MINIMUM=([2]=10 [3]=10 [4]=30 [5]=15)
  jpeg_videos=4
  train_args=(--backbone resnet18 --frames 4 --size 32 --batch 2 --steps 2 --warmup 1)
  data_args=(--clips 8 --frames 4 --size 64 --batch 2)
  e2e_args=(--backbone resnet18 --frames 4 --size 32 --batch 2 --steps 2 --warmup 1 --workers 1)
  shards=1
  workers=0
  smoke_sets=(--set train.epochs=1 --set train.batch_size=8 --set data.input_size=32
              --set data.scale_size=32 --set eval.batch_size=8 --set cost.warmup=1
              --set cost.repeats=2 --set cost.throughput_batch=2)
  speed_args=(--batches 2 --set data.input_size=32 --set cost.warmup=1 --set cost.repeats=2)
  synth_args=(--train-per-class 2 --val-per-class 1 --frames 16 --size 32)
  report_reserve=20
  summary_args=(--cpu-check)
fi
: "${workers:=$(( $(nproc) / shards - 1 ))}"  # loader workers per smoke shard: the CPUs shared out

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")  # data, runs, checkpoints: not bundled
stage=$work/bundle                                      # what results.tar.gz holds
results=$stage/bench/results
mkdir -p "$out" "$results" "$stage/reports" "$stage/runs"
rm -f "$out/summary.txt" "$out/log.txt" "$out/results.tar.gz" "$out/speed_table.md"
steps_table=$work/steps.tsv
commands=$results/${tag}_commands.txt
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
background=()
jpegs_pid="" synth_pid=""

cleanup() {
  local pid
  for pid in "${background[@]}"; do kill -- "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
now() { date +%s; }
start=$(now)
deadline=$((start + budget))
reserve=$(( budget / 30 > 5 ? budget / 30 : 5 ))  # for summary and tarball

# ---------------------------------------------------------------- step bookkeeping
step_number=0 step_title="" step_started=0 step_end=0 step_notes=() step_status='done'

begin_step() {  # NUMBER TITLE END: prints the header; END is when the step must be done
  step_number=$1 step_title=$2 step_end=$3 step_started=$(now) step_notes=() step_status='done'
  echo
  echo "== step $1/6: $2 (until +$((step_end - start)) s of the $budget s budget; at +$((step_started - start)) s)"
}

note() {  # STATUS TEXT: a sub-run's outcome; the step's status is the worst one seen
  step_notes+=("$2")
  case $1 in
    failed) step_status=failed ;;
    stopped) [[ $step_status == failed ]] || step_status="stopped at its budget" ;;
  esac
}

end_step() {
  local seconds=$(( $(now) - step_started )) detail
  detail=$(printf '%s; ' "${step_notes[@]}")
  detail=${detail%; }
  echo "-- step $step_number: $step_status in $seconds s; $(( deadline - $(now) )) s of the budget left"
  printf '%s\t%s\t%s\t%s\t%s\n' "$step_number" "$step_title" "$step_status" "$seconds" "$detail" >> "$steps_table"
}

skip_step() {  # NUMBER TITLE REASON
  echo
  echo "== step $1/6: $2"
  echo "skipped: step $1 ($2): $3"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "skipped" 0 "$3" >> "$steps_table"
}

run() {  # NAME MINIMUM FILE CMD...: CMD until the step's end, output shown and saved in FILE
  local name=$1 minimum=$2 file=$3 left rc began
  shift 3
  left=$(( step_end - $(now) ))
  if ((left < minimum)); then
    echo "skipped: $name: needs about $minimum s, $left s left in step $step_number"
    note skipped "$name skipped (needs $minimum s, $left s left)"
    return 0
  fi
  echo "\$ $*" | tee -a "$commands"
  began=$(now)
  timeout --kill-after=10 "$left" "$@" 2>&1 | tee "$file"
  rc=${PIPESTATUS[0]}
  report_outcome "$name" "$rc" "$(( $(now) - began ))" "$left"
}

report_outcome() {  # NAME RC SECONDS LIMIT
  case $2 in
    0) echo "-- $1: done in $3 s"; note 'done' "$1 done ($3 s)" ;;
    124|137) echo "-- $1: stopped at its budget ($4 s)"; note stopped "$1 stopped at its budget ($4 s)" ;;
    *) echo "-- $1: FAILED (exit $2) after $3 s"; note failed "$1 failed (exit $2)" ;;
  esac
}

in_background() {  # LOG CMD...: CMD in the background, until the deadline; sets last_pid
  local file=$1
  shift
  echo "\$ $* &" | tee -a "$commands"
  timeout --kill-after=10 $(( deadline - $(now) )) "$@" > "$file" 2>&1 &
  last_pid=$!
  background+=("$last_pid")
}

wait_for() {  # PID NAME LOG: waits for a background job; prints its end if it failed
  local rc
  wait "$1"
  rc=$?
  if ((rc != 0)); then
    tail -n 5 "$3"
    report_outcome "$2" "$rc" "?" "$(( deadline - start ))"
  fi
  return "$rc"
}

selected() { [[ ,$only, == *,$1,* ]]; }

# ---------------------------------------------------------------- the steps
step_environment() {
  begin_step 1 "machine, versions and requirements" "$deadline"
  local file=$results/${tag}_environment.txt expect=()
  [[ $mode == gpu ]] && expect=(--expect-cuda)
  {
    echo "date: $(date -u +%FT%TZ); host: $(hostname); mode: $mode; budget: $budget s; steps: 1,$only,6"
    echo "git: $(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo 'no git repository here (a copied tree)')"
    if command -v nvidia-smi > /dev/null; then
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
      nvidia-smi
    else
      echo "nvidia-smi: not on this machine"
    fi
  } 2>&1 | tee "$file"
  echo "\$ $PYTHON bench/gpu/environment.py ${expect[*]}" | tee -a "$commands"
  "$PYTHON" "$REPO/bench/gpu/environment.py" "${expect[@]}" 2>&1 | tee -a "$file"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)) && [[ -d $REPO/.whl ]]; then
    echo "installing the carried wheels: $(cd "$REPO/.whl" && echo *.whl)" | tee -a "$file"
    echo "\$ $PYTHON -m pip install --no-index --no-deps --target \$WORK/site .whl/*.whl" | tee -a "$commands"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$work/site" "$REPO"/.whl/*.whl 2>&1 | tee -a "$file"
    export PYTHONPATH=$work/site:$PYTHONPATH
    "$PYTHON" "$REPO/bench/gpu/environment.py" "${expect[@]}" 2>&1 | tee -a "$file"
    rc=${PIPESTATUS[0]}
  fi
  ((rc == 0)) || note failed "the environment is not usable (see above): steps 2-5 not run"
  end_step
  return "$rc"
}

start_data() {  # on a GPU machine's many cores, the data sets are made while step 2 runs
  if selected 3; then
    in_background "$work/jpegs.log" "$PYTHON" -c "import sys; sys.path.insert(0, 'bench'); \
from pathlib import Path; from common import make_jpeg_set; make_jpeg_set(Path(sys.argv[1]), int(sys.argv[2]), 48)" \
      "$work/jpegs" "$jpeg_videos"
    jpegs_pid=$last_pid
  fi
  if selected 4; then
    in_background "$work/synth.log" "$PYTHON" benchmark.py data synth --out "$work/synthmotion" "${synth_args[@]}"
    synth_pid=$last_pid
  fi
}

drop_data() {  # NUMBER: a skipped step's data is not needed: stop making it
  local pid
  case $1 in 3) pid=$jpegs_pid ;; 4) pid=$synth_pid ;; *) return ;; esac
  [[ -n $pid ]] && kill -- "$pid" 2>/dev/null
}

step_cuda_tests() {
  local files  # collecting only the files with a skipif mark that names CUDA or a GPU saves time
  files=$(grep -l skipif tests/test_*.py | xargs grep -liE '\bcuda\b|\bgpu\b' | tr '\n' ' ')
  echo "test files with a skipif mark that names CUDA or a GPU: $files"
  # shellcheck disable=SC2086
  PYTHONPATH=$PYTHONPATH:$REPO/bench/gpu run "CUDA-only tests" 5 "$results/${tag}_cuda_tests.txt" \
    "$PYTHON" -m pytest -p cuda_tests -q -rs -p no:cacheprovider $files
}

step_throughput() {
  run "train_throughput, eager" 20 "$results/${tag}_train_throughput.txt" \
    "$PYTHON" bench/train_throughput.py "${train_args[@]}" --no-compile
  if [[ $mode == gpu ]]; then
    run "train_throughput, compiled" 75 "$results/${tag}_train_throughput_compile.txt" \
      "$PYTHON" bench/train_throughput.py "${train_args[@]}" --compile
  fi
  [[ -n $jpegs_pid ]] && { wait_for "$jpegs_pid" "JPEG set" "$work/jpegs.log" || return; }
  run "e2e_throughput, eager" 30 "$results/${tag}_e2e_throughput.txt" \
    "$PYTHON" bench/e2e_throughput.py "${e2e_args[@]}" --videos "$jpeg_videos" --no-compile --root "$work/jpegs"
  run "data_throughput" 25 "$results/${tag}_data_throughput.txt" \
    "$PYTHON" bench/data_throughput.py "${data_args[@]}" --videos "$jpeg_videos" --root "$work/jpegs"
  if [[ $mode == gpu ]]; then
    run "e2e_throughput, compiled" 60 "$results/${tag}_e2e_throughput_compile.txt" \
      "$PYTHON" bench/e2e_throughput.py "${e2e_args[@]}" --videos "$jpeg_videos" --compile --root "$work/jpegs"
  else
    echo "skipped: the compiled runs: torch.compile on the CPU builds C++ kernels for minutes"
    note skipped "compiled runs skipped on the CPU"
  fi
}

step_smoke() {
  if [[ -n $synth_pid ]]; then
    wait_for "$synth_pid" "synthmotion" "$work/synth.log" || return
  else
    run "synthmotion" 10 "$work/synth.log" \
      "$PYTHON" benchmark.py data synth --out "$work/synthmotion" "${synth_args[@]}" || return
  fi
  [[ -f $work/synthmotion/synthmotion.json ]] || return  # not made for want of time: said above
  local left=$(( step_end - report_reserve - $(now) )) index pids=() rc began
  began=$(now)
  if ((left < MINIMUM[4] - report_reserve)); then
    echo "skipped: the smoke matrix: $left s left after the data"
    note skipped "smoke matrix skipped ($left s left after the data)"
    return
  fi
  echo "$shards shards in parallel, $workers loader workers each, until +$(( step_end - report_reserve - start )) s"
  for ((index = 0; index < shards; index++)); do
    echo "\$ $PYTHON benchmark.py run bench/gpu/smoke --runs \$WORK/runs --shard $index/$shards" \
         "--set data.root=\$WORK/synthmotion --set data.workers=$workers ${smoke_sets[*]} &" | tee -a "$commands"
    timeout --kill-after=10 "$left" "$PYTHON" benchmark.py run bench/gpu/smoke --runs "$work/runs" \
      --shard "$index/$shards" --set "data.root=$work/synthmotion" --set "data.workers=$workers" \
      "${smoke_sets[@]}" > "$work/smoke_shard$index.log" 2>&1 &
    pids+=($!)
    background+=($!)
  done
  for ((index = 0; index < shards; index++)); do
    wait "${pids[index]}"
    rc=$?
    { echo "## shard $index/$shards"; cat "$work/smoke_shard$index.log"; } >> "$results/${tag}_smoke.txt"
    grep -E ": top-1 .* -> |failed|Error|Traceback" "$work/smoke_shard$index.log" | sed "s/^/shard $index: /"
    report_outcome "smoke shard $index/$shards" "$rc" "$(( $(now) - began ))" "$left"
  done
  run "smoke report" 5 "$results/${tag}_smoke_report.txt" \
    "$PYTHON" benchmark.py report "$work/runs" -o "$stage/reports/${tag}_smoke"
}

step_speed() {
  run "speed table" 10 "$results/${tag}_speed_table.txt" \
    "$PYTHON" bench/speed_table.py "${speed_args[@]}" --out "$stage/reports/${tag}_speed"
}

step_bundle() {
  echo
  echo "== step 6/6: bundle (at +$(( $(now) - start )) s)"
  local began run_dir
  began=$(now)
  for run_dir in "$work"/runs/*/; do  # the records, without the checkpoints
    [[ -d $run_dir ]] || continue
    mkdir -p "$stage/runs/${tag}_smoke/$(basename "$run_dir")"
    cp "$run_dir"/*.json "$run_dir"/*.jsonl "$run_dir"/*.yaml "$stage/runs/${tag}_smoke/$(basename "$run_dir")/" 2>/dev/null
  done
  echo "\$ $PYTHON bench/gpu/summary.py ..." >> "$commands"
  "$PYTHON" bench/gpu/summary.py --steps "$steps_table" --results "$results" --runs "$work/runs" \
    --speed "$stage/reports/${tag}_speed/speed.jsonl" --commands "$commands" "${summary_args[@]}" \
    > "$out/summary.txt" 2>&1
  cp "$out/summary.txt" "$results/${tag}_summary.txt"
  [[ -f $stage/reports/${tag}_speed/README.md ]] && cp "$stage/reports/${tag}_speed/README.md" "$out/speed_table.md"
  tar -czf "$out/results.tar.gz" -C "$stage" .
  cat "$out/summary.txt"
  echo
  echo "-- step 6: done in $(( $(now) - began )) s; total $(( $(now) - start )) s of $budget s"
  echo "bundle in $out: $(cd "$out" && echo *) ($(du -sh "$out/results.tar.gz" | cut -f1) results.tar.gz:" \
       "$(tar -tzf "$out/results.tar.gz" | grep -vc '/$') files)"
}

main() {
  trap cleanup EXIT  # main runs in the pipeline's subshell, which has its own traps
  cd "$REPO" || exit 1
  echo "bench/gpu.sh --budget $budget${only:+ --only $only}$([[ $mode == cpu ]] && echo ' --cpu') --out $out"
  local failed=0 number end available total=0 cumulative=0
  if ! step_environment; then
    for number in 2 3 4 5; do selected "$number" && skip_step "$number" "${TITLES[number]}" "the environment is not usable"; done
    step_bundle
    return 1
  fi
  available=$(( deadline - reserve - $(now) ))
  for number in 2 3 4 5; do selected "$number" && total=$(( total + SHARES[number] )); done
  [[ $mode == gpu ]] && start_data
  for number in 2 3 4 5; do
    selected "$number" || continue
    cumulative=$(( cumulative + SHARES[number] ))
    end=$(( deadline - reserve - available + available * cumulative / total ))
    if (( end - $(now) < MINIMUM[number] )); then
      skip_step "$number" "${TITLES[number]}" "needs at least ${MINIMUM[number]} s, $(( end - $(now) )) s left for it"
      drop_data "$number"
      continue
    fi
    begin_step "$number" "${TITLES[number]}" "$end"
    "${BODIES[number]}"
    end_step
    [[ $step_status == failed ]] && failed=1
  done
  step_bundle
  return "$failed"
}

TITLES=([2]="CUDA-only tests" [3]="throughput benchmarks" [4]="smoke matrix" [5]="speed table")
BODIES=([2]=step_cuda_tests [3]=step_throughput [4]=step_smoke [5]=step_speed)
main 2>&1 | tee "$out/log.txt"
exit "${PIPESTATUS[0]}"
