#!/usr/bin/env bash
# The closed improvement loop (docs/recipes/improve.md): rounds of
#   select (what the current model gets wrong) -> focused generate (verified) -> export -> SFT -> held-out eval,
# then a per-round table (OUT/rounds.md, OUT/rounds.json) and side-by-side HTML reports.
# Every knob is an environment variable; the defaults are the GPU scale of docs/recipes/improve.md.
# A test (tests/test_improve_recipe.py) runs this script at toy scale on CPU with a tiny model and fake:world.
# Rerunning with the same OUT continues: finished stages are skipped, a killed generate/select resumes.
set -euo pipefail

CALLFORGE=${CALLFORGE:-callforge}          # the command, e.g. "python -m callforge"
PYTHON=${PYTHON:-python3}                  # any Python 3 (the table is computed with the standard library)
MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct} # base to train: a hub id, a local folder or a .gguf file
GEN_MODEL=${GEN_MODEL:-local:qwen2.5-coder-1.5b}  # the backend that plays the dialogs (pool, held-out, focused)
GEN_ARGS=${GEN_ARGS:-}                     # extra generate flags (e.g. --base-url http://localhost:8000/v1 --concurrency 64)
TOOLS=${TOOLS:-examples/tools/travel.py}   # the tools to learn (any source generate takes)
OUT=${OUT:-runs/improve}
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-0}                            # pool: SEED, held-out: SEED+1, round r's focused run: SEED+100*r
POOL_N=${POOL_N:-1000}                     # accepted candidate dialogs, generated once, selected from each round
HELDOUT_N=${HELDOUT_N:-200}                # accepted held-out dialogs (another seed), never trained on
N=${N:-500}                                # accepted focused dialogs per round
MIX=${MIX:-}                               # generate's scenario mix ("" = the documented default)
DIFFICULTY=${DIFFICULTY:-}                 # focused runs: easy|medium|hard|auto ("" = one level above the failures)
SELECT_LIMIT=${SELECT_LIMIT:-}             # ask the target about at most this many pool dialogs per round ("" = all)
SELECT_ARGS=${SELECT_ARGS:-}               # extra select flags (e.g. --base-url for an openai: target)
TARGET_BASE=${TARGET_BASE:-hf:$MODEL}      # round 1's target model
TARGET_ADAPTED=${TARGET_ADAPTED:-hf:$MODEL@\{adapter\}}  # later rounds' target; {adapter} and {round} are the previous round's
ON_ADAPTER=${ON_ADAPTER:-}                 # a command run after each round's training, given the adapter folder and round
TRAIN_ON_SELECTED=${TRAIN_ON_SELECTED:-1}  # 1: also train on the pool dialogs the target failed (ToolACE-R's selection)
ACCUMULATE=${ACCUMULATE:-1}                # 1: round r trains on rounds 1..r's data; 0: on round r's only
STEPS=${STEPS:-300}                        # SFT optimizer steps per round (each round trains from MODEL)
BATCH=${BATCH:-4}
MAX_LENGTH=${MAX_LENGTH:-4096}
LR=${LR:-}
TRAIN_ARGS=${TRAIN_ARGS:-}                 # extra train flags (e.g. --gradient-checkpointing)
EVAL_LIMIT=${EVAL_LIMIT:-}                 # held-out (and BFCL) cases per category ("" = all)
EVAL_BASE=${EVAL_BASE:-first}              # first: evaluate the base once (round 1); every: each round
EVAL_STYLE=${EVAL_STYLE:-fc}               # fc (native tool calls) or prompting, for the held-out and BFCL evals
BFCL_DATA=${BFCL_DATA:-}                   # BFCL's own data folder; "" skips the public-categories eval
BFCL_CATEGORIES=${BFCL_CATEGORIES:-simple_python,multiple,parallel,parallel_multiple,irrelevance}
EVAL_ARGS=${EVAL_ARGS:-}                   # extra `eval run` flags for the BFCL eval (e.g. --max-tokens 256)
REPORT=${REPORT:-1}                        # 1: write the HTML reports at the end

say() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
complete() { [[ -f "$1/manifest.json" ]] && grep -q '"status": *"complete"' "$1/manifest.json"; }
resume() { [[ -f "$1/manifest.json" ]] && printf -- '--resume' || true; }   # a killed run continues
exported() { [[ -f "$1/export.json" ]]; }   # export refuses a folder it already wrote; a rerun keeps it
mix_flag=(); [[ -n "$MIX" ]] && mix_flag=(--mix "$MIX")
diff_flag=(); [[ -n "$DIFFICULTY" ]] && diff_flag=(--difficulty "$DIFFICULTY")
lr_flag=(); [[ -n "$LR" ]] && lr_flag=(--lr "$LR")
limit_flag=(); [[ -n "$EVAL_LIMIT" ]] && limit_flag=(--limit "$EVAL_LIMIT")
eval_limit_flag=(); [[ -n "$EVAL_LIMIT" ]] && eval_limit_flag=(--eval-limit "$EVAL_LIMIT")
select_limit_flag=(); [[ -n "$SELECT_LIMIT" ]] && select_limit_flag=(--limit "$SELECT_LIMIT")
mkdir -p "$OUT"

say "generate: a pool of $POOL_N candidate dialogs and $HELDOUT_N held-out ones"
# shellcheck disable=SC2046,SC2086
complete "$OUT/pool" || $CALLFORGE generate --tools "$TOOLS" --model "$GEN_MODEL" --n "$POOL_N" --seed "$SEED" \
  "${mix_flag[@]}" --out "$OUT/pool" --quiet $(resume "$OUT/pool") $GEN_ARGS
# shellcheck disable=SC2046,SC2086
complete "$OUT/heldout-run" || $CALLFORGE generate --tools "$TOOLS" --model "$GEN_MODEL" --n "$HELDOUT_N" \
  --seed "$((SEED + 1))" "${mix_flag[@]}" --out "$OUT/heldout-run" --quiet $(resume "$OUT/heldout-run") $GEN_ARGS
exported "$OUT/heldout" || $CALLFORGE export "$OUT/heldout-run" --format bfcl --out "$OUT/heldout"

rounds_done=0
for ((r = 1; r <= ROUNDS; r++)); do
  R="$OUT/r$r"
  mkdir -p "$R"
  if ((r == 1)); then
    target=$TARGET_BASE
  else
    target=${TARGET_ADAPTED//\{adapter\}/$OUT/r$((r - 1))/adapter}
    target=${target//\{round\}/$((r - 1))}
  fi
  printf '%s\n' "$target" >"$R/target.txt"

  say "round $r/$ROUNDS, select: the pool dialogs $target gets wrong"
  # shellcheck disable=SC2046,SC2086
  complete "$R/select" || $CALLFORGE select "$OUT/pool" --model "$target" --out "$R/select" --quiet \
    "${select_limit_flag[@]}" $(resume "$R/select") $SELECT_ARGS
  kept=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["kept"])' "$R/select/manifest.json")
  if ((kept == 0)); then
    say "round $r: $target solves every pool dialog; stopping (grow POOL_N or make the pool harder: DIFFICULTY, MIX)"
    break
  fi

  say "round $r, focused generate: $N dialogs over what it failed ($kept dialogs), verified as generate always does"
  # shellcheck disable=SC2046,SC2086
  complete "$R/focus" || $CALLFORGE generate --tools "$TOOLS" --model "$GEN_MODEL" --n "$N" --seed "$((SEED + 100 * r))" \
    "${mix_flag[@]}" --focus "$R/select" "${diff_flag[@]}" --out "$R/focus" --quiet $(resume "$R/focus") $GEN_ARGS

  say "round $r, export: openai records (focused run$([[ $TRAIN_ON_SELECTED == 1 ]] && echo ', selected dialogs')$([[ $ACCUMULATE == 1 && $r -gt 1 ]] && echo ', earlier rounds'))"
  exported "$R/sft-focus" || $CALLFORGE export "$R/focus" --format openai --out "$R/sft-focus"
  parts=("$R/sft-focus/data.jsonl")
  if [[ "$TRAIN_ON_SELECTED" == "1" ]]; then
    exported "$R/sft-select" || $CALLFORGE export "$R/select" --format openai --out "$R/sft-select"
    parts+=("$R/sft-select/data.jsonl")
  fi
  if [[ "$ACCUMULATE" == "1" && $r -gt 1 ]]; then parts=("$OUT/r$((r - 1))/train/data.jsonl" "${parts[@]}"); fi
  mkdir -p "$R/train"
  awk '!seen[$0]++' "${parts[@]}" >"$R/train/data.jsonl"   # a dialog selected again in a later round counts once
  echo "training data: $(wc -l <"$R/train/data.jsonl") records in $R/train/data.jsonl"

  say "round $r, SFT from $MODEL, then the adapter (and base) on the held-out set"
  base_flag=(); [[ "$EVAL_BASE" == "first" && $r -gt 1 ]] && base_flag=(--no-eval-base)
  if [[ ! -f "$R/adapter/train_report.json" ]]; then
    # shellcheck disable=SC2086
    $CALLFORGE train "$R/train" --method sft --model "$MODEL" --out "$R/adapter" --max-steps "$STEPS" \
      --batch-size "$BATCH" --max-length "$MAX_LENGTH" "${lr_flag[@]}" --eval-data "$OUT/heldout" \
      "${eval_limit_flag[@]}" --eval-style "$EVAL_STYLE" "${base_flag[@]}" --quiet --overwrite $TRAIN_ARGS
  fi
  if [[ -n "$ON_ADAPTER" ]]; then bash -c "$ON_ADAPTER" on_adapter "$R/adapter" "$r"; fi

  if [[ -n "$BFCL_DATA" ]]; then
    say "round $r, BFCL: $BFCL_CATEGORIES"
    if ((r == 1)); then
      # shellcheck disable=SC2086
      $CALLFORGE eval run --model "hf:$MODEL" --data "$BFCL_DATA" --categories "$BFCL_CATEGORIES" \
        "${limit_flag[@]}" --style "$EVAL_STYLE" --out "$OUT/eval-bfcl-base" --quiet $EVAL_ARGS
    fi
    # shellcheck disable=SC2086
    $CALLFORGE eval run --model "hf:$MODEL@$R/adapter" --data "$BFCL_DATA" --categories "$BFCL_CATEGORIES" \
      "${limit_flag[@]}" --style "$EVAL_STYLE" --out "$R/eval-bfcl" --quiet $EVAL_ARGS
  fi
  rounds_done=$r
done

say "rounds: $rounds_done (table in $OUT/rounds.md)"
"$PYTHON" - "$OUT" "$rounds_done" <<'PY'
import json
import sys
from pathlib import Path

out, rounds = Path(sys.argv[1]), int(sys.argv[2])


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def overall(folder: Path) -> dict:
    """Accuracy over every scored case of an eval folder, per mode (what `eval run` wrote under scores/)."""
    acc = {}
    for mode in ("bfcl", "semantic"):
        cats = load(folder / "scores" / mode / "scores.json").get("categories", {}).values()
        total = sum(c.get("total", 0) for c in cats)
        acc[mode] = sum(c.get("correct", 0) for c in cats) / total if total else None
    return acc


def pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


def pts(x):
    return "-" if x is None else f"{100 * x:+.1f}"


def both(a: dict, f=pct) -> str:
    return f"{f(a.get('bfcl'))} / {f(a.get('semantic'))}"


base = (load(out / "r1" / "adapter" / "train_report.json").get("evaluation") or {}).get("base") or {}
bfcl_base = overall(out / "eval-bfcl-base") if (out / "eval-bfcl-base").is_dir() else None
rows = []
for r in range(1, rounds + 1):
    R = out / f"r{r}"
    sel, focus = load(R / "select" / "manifest.json"), load(R / "focus" / "manifest.json")
    steps = correct = 0
    for stream in ("accepted", "rejected"):
        for part in sorted((R / "select" / stream).glob("*.jsonl")):
            for line in part.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    target = json.loads(line)["dialog"]["meta"].get("target") or {}
                    steps, correct = steps + target.get("steps", 0), correct + target.get("correct", 0)
    train = load(R / "adapter" / "train_report.json")
    ev = train.get("evaluation") or {}
    own_base = (ev.get("base") or {}).get("accuracy") or base.get("accuracy") or {}
    adapter = (ev.get("adapter") or {}).get("accuracy") or {}
    gain = {m: adapter[m] - own_base[m] for m in ("bfcl", "semantic") if adapter.get(m) is not None and own_base.get(m) is not None}
    row = {
        "round": r,
        "target": (R / "target.txt").read_text(encoding="utf-8").strip(),
        "select": {**sel.get("counts", {}), "steps": steps, "correct_steps": correct},
        "focus": {**focus.get("counts", {}), "level": (focus.get("steering") or {}).get("level")},
        "train": {"records": sum(1 for line in open(R / "train" / "data.jsonl", encoding="utf-8") if line.strip()),
                  **{k: train.get(k) for k in ("examples", "dropped", "steps", "first_loss", "last_loss", "runtime_s")}},
        "heldout": {"cases": (ev.get("adapter") or {}).get("cases"), "base": own_base, "adapter": adapter, "gain": gain},
    }
    if bfcl_base is not None:
        tuned = overall(R / "eval-bfcl")
        row["bfcl"] = {"base": bfcl_base, "adapter": tuned,
                       "gain": {m: tuned[m] - bfcl_base[m] for m in tuned if tuned[m] is not None and bfcl_base[m] is not None}}
    rows.append(row)

head = ["round", "target acc. on pool (steps)", "kept / judged", "focused accepted / attempts (level)", "train ex. / steps",
        "loss first → last", "held-out base bfcl / sem. %", "held-out adapter bfcl / sem. %", "gain bfcl / sem. pts"]
if bfcl_base is not None:
    head += ["BFCL adapter bfcl / sem. %", "BFCL gain pts"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for row in rows:
    s, f, t, h = row["select"], row["focus"], row["train"], row["heldout"]
    dropped = sum((t["dropped"] or {}).values())
    too_long = f" (+{dropped} too long)" if dropped else ""  # records over MAX_LENGTH, left out by train
    loss = "-" if t["first_loss"] is None else f"{t['first_loss']:.3f} → {t['last_loss']:.3f}"
    cells = [str(row["round"]), f"{pct(s['correct_steps'] / s['steps'] if s['steps'] else None)}% ({s['steps']})",
             f"{s.get('kept', '-')} / {s.get('evaluated', '-')}", f"{f.get('accepted', '-')} / {f.get('attempts', '-')} ({f.get('level') or '-'})",
             f"{t['examples']}{too_long} / {t['steps']}", loss, both(h["base"]), both(h["adapter"]), both(h["gain"], pts)]
    if "bfcl" in row:
        cells += [both(row["bfcl"]["adapter"]), both(row["bfcl"]["gain"], pts)]
    lines.append("| " + " | ".join(cells) + " |")
cases = rows[0]["heldout"]["cases"] if rows else None
table = "\n".join(lines)
note = (f"\nHeld-out: {cases} cases of {out / 'heldout'} (never trained on). The target of round r is the model "
        "before round r's training (round 1: the base), so its pool accuracy in round r+1 is round r's adapter on the pool.\n")
(out / "rounds.md").write_text(f"# Improvement rounds: {out}\n\n{table}\n{note}", encoding="utf-8")
(out / "rounds.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
print(table)
PY

if [[ "$REPORT" == "1" && $rounds_done -gt 0 ]]; then
  say "report: held-out evals side by side, and the generated runs"
  evals=("$OUT/r1/adapter/eval-base")
  runs=("$OUT/pool")
  for ((r = 1; r <= rounds_done; r++)); do
    evals+=("$OUT/r$r/adapter/eval-adapter")
    runs+=("$OUT/r$r/focus")
  done
  $CALLFORGE report "${evals[@]}" --out "$OUT/report.html" --title "Held-out accuracy per round: base, then each round's adapter"
  $CALLFORGE report "${runs[@]}" --out "$OUT/data.html" --title "Candidate pool and each round's focused run"
  if [[ -n "$BFCL_DATA" ]]; then
    bfcl=("$OUT/eval-bfcl-base")
    for ((r = 1; r <= rounds_done; r++)); do bfcl+=("$OUT/r$r/eval-bfcl"); done
    $CALLFORGE report "${bfcl[@]}" --out "$OUT/bfcl.html" --title "BFCL per round: base, then each round's adapter"
  fi
fi
say "done: adapters in $OUT/r*/adapter, table in $OUT/rounds.md, reports in $OUT/*.html"
