#!/usr/bin/env bash
# Checks the deployment files as far as this machine can without Docker or a
# cluster: the Kubernetes manifests against the API schemas (kubernetes-validate,
# Kubernetes 1.30, strict), docker-compose.yml against the Compose spec
# (check-jsonschema), and the Dockerfile's structure (dockerfile-parse): a
# cargo-leptos release build stage, a slim runtime stage running as non-root
# with a health check. Building and running the image is not checked here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
for tool in kubernetes-validate check-jsonschema dockerfile-parse; do
  "$VENV/bin/pip" show -q "$tool" >/dev/null 2>&1 || { log "installing $tool into $VENV"; "$VENV/bin/pip" install -q "$tool"; }
done
checks=0
"$VENV/bin/kubernetes-validate" -k 1.30.0 --strict deploy/configmap.yaml deploy/secret.yaml deploy/deployment.yaml deploy/service.yaml deploy/hpa.yaml deploy/ingress.yaml
checks=$((checks + 1))
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
checks=$((checks + 1))
"$VENV/bin/python" - <<'PY'
from dockerfile_parse import DockerfileParser
d = DockerfileParser(path="Dockerfile")
stages = [i for i in d.structure if i["instruction"] == "FROM"]
assert len(stages) >= 2, "multi-stage build expected"
runs = " ".join(i["value"] for i in d.structure if i["instruction"] == "RUN")
assert "cargo leptos build --release" in runs, "the builder runs cargo leptos build --release"
last = max(i["startline"] for i in stages)
tail = [i for i in d.structure if i["startline"] > last]
users = [i["value"] for i in tail if i["instruction"] == "USER"]
assert users and not users[-1].startswith(("0", "root")), "the runtime runs as a non-root user"
assert any(i["instruction"] == "HEALTHCHECK" for i in tail), "the runtime has a health check"
assert "slim" in stages[-1]["value"], "a slim runtime image"
print("Dockerfile: multi-stage, release build, slim non-root runtime with a health check")
PY
checks=$((checks + 1))
echo "deploy: $checks passed, 0 failed"
