#!/usr/bin/env bash
# `golive ci-matrix` and `golive merge` on N sandbox organisations (default 8), the way the nightly
# template uses them: the matrix from the profiles, one separate `golive smoke` per organisation
# (a CI job each: its own process, run id and report folder), their artifacts gathered in one
# folder as a merge job downloads them, and one overview of all of them.
#   make ci-demo            (ORGS=8; the sandbox's real n8n, GOLIVE_SANDBOX_N8N=double for the fast one)
set -euo pipefail
cd "$(dirname "$0")/.."
ORGS=${ORGS:-8}
JOBS=${JOBS:-4}  # jobs at once (a CI runner pool)
BIN=${BIN:-.venv/bin}
work=$(mktemp -d /tmp/golive-ci-demo-XXXXXX)
state=$work/sandbox

"$BIN/golive" sandbox --state-dir "$state" --orgs "$ORGS" >"$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null; wait "$sandbox" 2>/dev/null || true' EXIT
until [ -f "$state/ready.json" ]; do
  kill -0 "$sandbox" 2>/dev/null || { cat "$work/sandbox.log"; exit 2; }
  sleep 1
done
echo "sandbox with $ORGS organisations: $state"

# The example attestations, answered for every organisation (the sandbox's added ones too).
sed 's/^organisations = \[.*\]/organisations = ["*"]/' fixtures/attestations/example.toml >"$work/attestations.toml"

echo "== golive ci-matrix (what the nightly's first job prints)"
"$BIN/golive" ci-matrix --orgs-dir "$state/orgs" --format github
orgs=$("$BIN/golive" ci-matrix --orgs-dir "$state/orgs" --format list)

echo "== one job per organisation, $JOBS at once"
mkdir -p "$work/artifacts"
job() {
  org=$1
  GOLIVE_SANDBOX_STATE="$state" "$BIN/golive" smoke --org "$org" --attest "$work/attestations.toml" --keep 0 \
    >"$work/job-$org.log" 2>&1 || true
  run=$(sed -n 's/^evidence: //p' "$work/job-$org.log" | tail -1)
  [ -n "$run" ] && cp -r "$run" "$work/artifacts/$org"  # the job's artifact, as the merge job downloads it
  echo "job $org: $(grep -E '^(GO|NO-GO) ' "$work/job-$org.log" | head -1 | cut -c1-60) (run $(basename "$run"))"
}
export -f job
export BIN state work
echo "$orgs" | xargs -P "$JOBS" -I{} bash -c 'job {}'

echo "== golive merge (the merge job)"
"$BIN/golive" merge "$work/artifacts" --out "$work/overview" --expect "$(echo $orgs)" \
  --title "golive nightly (sandbox, $ORGS organisations)" --history "$work/overview-history.jsonl" || true
echo "overview: $work/overview/index.html"
