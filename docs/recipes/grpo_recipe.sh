#!/usr/bin/env bash
# generate -> verify -> export (sft, grpo, bfcl) -> SFT -> merge -> GRPO -> eval, one command per stage.
# Every knob is an environment variable; the defaults are the GPU scale of docs/recipes/gpu-grpo.md.
# A test (tests/test_recipe.py) runs this script at toy scale on CPU with a tiny model and fake:world.
set -euo pipefail

CALLFORGE=${CALLFORGE:-callforge}          # the command, e.g. "python -m callforge"
PYTHON=${PYTHON:-python}                   # the interpreter that has the [train] extra (for the merge)
MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct} # base to train: a hub id, a local folder or a .gguf file
GEN_MODEL=${GEN_MODEL:-local:qwen2.5-coder-1.5b}  # the backend that plays the dialogs
TOOLS=${TOOLS:-examples/tools/travel.py}   # the tools to learn (any source generate takes)
OUT=${OUT:-runs/grpo-recipe}
N=${N:-2000}                               # accepted training dialogs
HELDOUT_N=${HELDOUT_N:-200}                # accepted held-out dialogs (another seed), the eval set
MIX=${MIX:-}                               # generate's scenario mix ("" = the documented default)
SFT_STEPS=${SFT_STEPS:-600}
GRPO_STEPS=${GRPO_STEPS:-300}
BATCH=${BATCH:-4}                          # sft: examples per step; grpo: prompts per step
NUM_GEN=${NUM_GEN:-8}                      # grpo: completions per prompt
COMPLETION_LEN=${COMPLETION_LEN:-256}      # grpo: tokens per sampled completion
MAX_LENGTH=${MAX_LENGTH:-4096}
REWARD_MIX=${REWARD_MIX:-format=0.2,exact=1,execution=1}
REWARD_MODE=${REWARD_MODE:-semantic}
SFT_LR=${SFT_LR:-}
GRPO_LR=${GRPO_LR:-}
TRAIN_ARGS=${TRAIN_ARGS:-}                 # extra flags for both trainings (e.g. --gradient-checkpointing)
BFCL_CATEGORIES=${BFCL_CATEGORIES:-simple_python,multiple,parallel,parallel_multiple,irrelevance}
BFCL_DATA=${BFCL_DATA:-}                   # BFCL's own data folder; "" skips the public-categories eval
EVAL=${EVAL:-auto}                         # auto: run the eval if this callforge has `eval run --adapter`
EVAL_ARGS=${EVAL_ARGS:-}                   # extra eval flags (e.g. --limit 50 --max-tokens 256)

say() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
mix_flag=(); [[ -n "$MIX" ]] && mix_flag=(--mix "$MIX")
lr() { [[ -n "$1" ]] && printf -- '--lr %s' "$1" || true; }
mkdir -p "$OUT"

say "generate: $N training dialogs and $HELDOUT_N held-out ones"
$CALLFORGE generate --tools "$TOOLS" --model "$GEN_MODEL" --n "$N" --seed 0 "${mix_flag[@]}" --out "$OUT/run"
$CALLFORGE generate --tools "$TOOLS" --model "$GEN_MODEL" --n "$HELDOUT_N" --seed 1 "${mix_flag[@]}" --out "$OUT/heldout-run"

say "verify: rules and sandboxed execution of every call"
$CALLFORGE verify "$OUT/run" --stages rules,exec --exec "python:$TOOLS" --out "$OUT/verified"

say "export: sft (openai), grpo prompts, and the held-out set as BFCL"
$CALLFORGE export "$OUT/verified" --format openai --out "$OUT/sft"
$CALLFORGE export "$OUT/verified" --format grpo --out "$OUT/grpo"
$CALLFORGE export "$OUT/heldout-run" --format bfcl --out "$OUT/heldout"

say "SFT: a LoRA adapter on the assistant turns"
# shellcheck disable=SC2046,SC2086
$CALLFORGE train "$OUT/sft" --method sft --model "$MODEL" --out "$OUT/adapter-sft" --max-steps "$SFT_STEPS" \
  --batch-size "$BATCH" --max-length "$MAX_LENGTH" $(lr "$SFT_LR") $TRAIN_ARGS --overwrite

say "merge: the SFT adapter into the base, the starting policy of GRPO"
"$PYTHON" - "$MODEL" "$OUT/adapter-sft" "$OUT/model-sft" <<'PY'
import sys
from pathlib import Path

from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base, adapter, out = sys.argv[1:]
where, options = (str(Path(base).parent), {"gguf_file": Path(base).name}) if base.endswith(".gguf") else (base, {})
model = AutoModelForCausalLM.from_pretrained(where, dtype="auto", **options)
model.hf_quantizer = None  # a GGUF model is dequantised on load; keep no quantiser on the merged copy
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
PeftModel.from_pretrained(model, adapter).merge_and_unload().save_pretrained(out)
AutoTokenizer.from_pretrained(adapter).save_pretrained(out)
print(f"merged {adapter} into {base}: {out}")
PY

say "GRPO: $NUM_GEN completions per prompt, reward $REWARD_MIX ($REWARD_MODE)"
# shellcheck disable=SC2046,SC2086
$CALLFORGE train "$OUT/grpo" --method grpo --model "$OUT/model-sft" --out "$OUT/adapter-grpo" --max-steps "$GRPO_STEPS" \
  --batch-size "$BATCH" --num-generations "$NUM_GEN" --max-completion-length "$COMPLETION_LEN" --max-length "$MAX_LENGTH" \
  --reward-mix "$REWARD_MIX" --reward-mode "$REWARD_MODE" --tools "$TOOLS" $(lr "$GRPO_LR") $TRAIN_ARGS --overwrite

if [[ "$EVAL" == "auto" ]]; then
  help=$(COLUMNS=200 $CALLFORGE eval run --help 2>/dev/null || true)
  if [[ "$help" == *--adapter* ]]; then EVAL=1; else EVAL=0; fi
fi
if [[ "$EVAL" != "1" ]]; then
  say "eval skipped: this callforge has no 'eval run --adapter' (the hf: backend); run the commands of docs/recipes/gpu-grpo.md once it has"
  exit 0
fi

say "eval: base, SFT and SFT+GRPO on the held-out set of your tools"
held=$(cd "$OUT/heldout" && ls BFCL_v4_*.json | sed 's/^BFCL_v4_//; s/\.json$//' | paste -sd, -)
# shellcheck disable=SC2086
$CALLFORGE eval run --model "hf:$MODEL" --data "$OUT/heldout" --categories "$held" --out "$OUT/eval-base" --quiet $EVAL_ARGS
# shellcheck disable=SC2086
$CALLFORGE eval run --model "hf:$OUT/model-sft" --data "$OUT/heldout" --categories "$held" --out "$OUT/eval-sft" --quiet $EVAL_ARGS
# shellcheck disable=SC2086
$CALLFORGE eval run --model "hf:$OUT/model-sft" --adapter "$OUT/adapter-grpo" --data "$OUT/heldout" --categories "$held" \
  --out "$OUT/eval-grpo" --quiet $EVAL_ARGS
if [[ -n "$BFCL_DATA" ]]; then
  say "eval: SFT+GRPO on BFCL's $BFCL_CATEGORIES"
  $CALLFORGE eval run --model "hf:$OUT/model-sft" --adapter "$OUT/adapter-grpo" --data "$BFCL_DATA" \
    --categories "$BFCL_CATEGORIES" --out "$OUT/eval-bfcl" --quiet $EVAL_ARGS
fi
say "done: adapters in $OUT/adapter-sft and $OUT/adapter-grpo, scores in $OUT/eval-*"
