#!/usr/bin/env bash
# deploy/kubernetes: every object of the manifests is valid against the Kubernetes API's
# schemas (tests/node/validate-k8s.mjs, with the kubernetes-models package that
# scripts/deps.sh installs), the cluster's pieces are all there, and the validator does
# refuse a broken object.
. "$(dirname "$0")/lib.sh"
v="$WEFT_SRC/tests/node/validate-k8s.mjs"
if ! command -v node >/dev/null || [ ! -d "$WEFT_SRC/tests/node/node_modules/kubernetes-models" ]; then
    skip "node or the kubernetes-models package is missing (scripts/deps.sh installs them)"
    exit 0
fi
node "$v" "$WEFT_SRC"/deploy/kubernetes/*.yaml >"$T/valid.txt" 2>&1
expect "the manifests are valid against the Kubernetes schemas" 0 "$?"
expect "... every object of them" \
    "ConfigMap weft-prometheus-adapter|Deployment weft-worker|HorizontalPodAutoscaler weft-worker|NetworkPolicy weft-scheduler|NetworkPolicy weft-worker|Secret weft-scheduler-public-key|Secret weft-worker-key|Service weft-scheduler|StatefulSet weft-scheduler" \
    "$(sed -n 's/: valid$//p' "$T/valid.txt" | sort | tr '\n' '|' | sed 's/|$//')"
expect "no object is left unchecked" 9 "$(wc -l <"$T/valid.txt")"
sed 's/^  replicas: 2$/  replicas: two/' "$WEFT_SRC/deploy/kubernetes/weft.yaml" >"$T/broken.yaml"
node "$v" "$T/broken.yaml" >"$T/broken.txt" 2>&1
expect "a broken object is refused" 1 "$?"
expect_grep "... naming the field" "Deployment weft-worker: data/spec/replicas must be integer" \
    "$T/broken.txt"
printf 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: { name: g }\n' >"$T/unknown.yaml"
node "$v" "$T/unknown.yaml" >"$T/unknown.txt" 2>&1
expect "an unknown kind is refused" 1 "$?"
