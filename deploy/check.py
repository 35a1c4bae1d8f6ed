#!/usr/bin/env python3
"""Consistency checks of tickmesh's rendered deployment manifests against the binary.

    check.py [--schemas K8S_VERSION] [--readme README.md] [--compose compose.yaml] NAME RENDERED.yaml

Reads a `kubectl kustomize` rendering and asserts what the binary needs:

* every tickmesh workload (label app.kubernetes.io/name=tickmesh) runs `serve <service>` or
  `migrate`, and each of the four services runs in exactly one Deployment;
* the containers expose gRPC on 50051 and metrics on 9464, and the effective `server.listen` /
  `metrics.listen` (from env and envFrom ConfigMaps) bind 0.0.0.0 on those ports;
* liveness and readiness (and startup, when present) probes are native gRPC probes on 50051;
* every `TICKMESH__...` key in ConfigMaps, env and the compose file is a documented config key
  (README.md's configuration tables: TICKMESH__BUS__REDIS_URL is bus.redis_url);
* credentials (database.url, bus.redis_url, bus.kafka_options and every key whose name is a
  password, token or secret: server.api_token, bus.redis_password, bus.kafka_password, ...)
  come from secretKeyRef, never from a literal or a ConfigMap, and no literal or ConfigMap
  value of any key looks like one (a URL with a password, `password=...`);
* a Service selects each Deployment and exposes grpc 50051 (appProtocol grpc) and 9464;
* ingestion follows the subscription Service (ingestion.subscriptions_url);
* GRPCRoutes send each gRPC service to the Deployment that serves it;
* terminationGracePeriodSeconds exceeds server.shutdown_grace;
* with --image NAME, every tickmesh container (and every tickmesh service of the compose file)
  runs NAME, the image the test command builds;
* with the monitoring component (deploy/k8s/components/monitoring): the ServiceMonitor selects
  every tickmesh Service on its `metrics` port; every alert has a severity, a summary and a
  description; every `job="..."` an alert names is a tickmesh Service; and every metric an alert
  or a Grafana dashboard panel queries is one docs/metrics.md lists (the list a test keeps equal
  to what a running tickmesh serves) and, with --exposition, one those scrapes hold.

With --schemas, every object is also validated offline (strict) against the Kubernetes JSON
schemas of that version (PyPI kubernetes-validate); CRD kinds listed in CRD_KINDS are skipped
by name, any other kind without a schema fails. With --rules-out DIR, the PrometheusRules'
groups and every dashboard query (as recording rules) are written to DIR as Prometheus rule
files for `promtool check rules`, and each PrometheusRule again without annotations as
alerts-NAME.yaml for `promtool test rules`. Exits 1 and lists every problem on failure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

SERVICES = ("subscription", "ingestion", "bridge", "storage")
GRPC_PORT = 50051
METRICS_PORT = 9464
DEFAULT_SHUTDOWN_GRACE_S = 4.0
# Keys whose values may carry a credential although their names do not say so.
CREDENTIAL_URL_KEYS = {"database.url", "database.read_url", "bus.redis_url", "bus.kafka_options"}
# A URL with a password in its user info, or a password/secret/token parameter or option.
CREDENTIAL_VALUE = re.compile(r"://[^/@\s:]*:[^@\s/]+@|(?i:(password|passwd|secret|token)\s*=)")


def is_secret_key(key: str) -> bool:
    """Whether config key `key` (dotted) holds a credential, as the binary's `Secret`s do."""
    last = key.rsplit(".", 1)[-1]
    return key in CREDENTIAL_URL_KEYS or any(w in last for w in ("password", "token", "secret"))
EXCHANGES = ("upbit", "bithumb", "korbit")
# Which Deployment serves which gRPC service (docs/architecture.md).
GRPC_SERVICES = {
    "tickmesh.subscription.v1.SubscriptionService": "subscription",
    "tickmesh.stream.v1.TickStreamService": "subscription",
    "tickmesh.history.v1.HistoryService": "storage",
    "tickmesh.ingestion.v1.IngestionService": "ingestion",
    "tickmesh.bridge.v1.BridgeService": "bridge",
}
# Custom resources: no core schema exists for them, so schema validation skips exactly these.
CRD_KINDS = {
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
SEVERITIES = {"critical", "warning", "info"}
# PromQL words that are not metric names: operators, modifiers and aggregations (which may be
# followed by `by (...)` rather than their parenthesis). Functions are recognised by the
# parenthesis that follows them.
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "sum", "min", "max", "avg", "group", "stddev",
    "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}


def documented_metrics(doc: Path) -> set[str]:
    """The series names docs/metrics.md lists, as exposed (histograms as _bucket, _sum, _count)."""
    names: set[str] = set()
    for line in doc.read_text().splitlines():
        if not line.startswith("| `tickmesh_"):
            continue
        cells = [c.strip() for c in line.split("|")]
        name, kind = cells[1].strip("`"), cells[2]
        if kind == "histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(name)
    return names


def exposed_metrics(path: Path) -> set[str]:
    """The series names in a Prometheus text exposition (a scrape of /metrics)."""
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in path.read_text().splitlines()
            if line and not line.startswith("#")}


def grafana_to_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced, so that Prometheus can parse it."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    return re.sub(r"\$\{?\w+(:\w+)?\}?", ".+", expr)


def promql_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, label matchers, ranges and label
    lists are removed first; a name followed by `(` is a function)."""
    e = grafana_to_promql(expr)
    e = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', e)
    e = re.sub(r"\{[^{}]*\}", " ", e)
    e = re.sub(r"\[[^\[\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", r" \1 ", e)
    names = set()
    for m in re.finditer(r"(?P<num>\d[\w.]*)|(?P<ident>[A-Za-z_:][\w:]*)", e):
        ident = m.group("ident")
        if not ident or ident.lower() in PROMQL_WORDS or e[m.end():].lstrip().startswith("("):
            continue
        names.add(ident)
    return names


def dashboard_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable of a Grafana dashboard."""
    out = []

    def panels(ps: list[dict]):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((f"panel {p.get('title')!r} {t.get('refId', '')}", t["expr"]))
    for v in (dashboard.get("templating") or {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else str(q or "")
        m = re.fullmatch(r"\s*label_values\((?:(.*),)?\s*\w+\s*\)\s*", q)
        if m:
            if m.group(1):
                out.append((f"variable {v.get('name')!r}", m.group(1)))
        elif q:
            out.append((f"variable {v.get('name')!r}", re.sub(r"^\s*query_result\((.*)\)\s*$", r"\1", q)))
    return out


def documented_keys(readme: Path) -> set[str]:
    """The config keys in README.md's configuration tables (first column, in backticks)."""
    keys: set[str] = set()
    for line in readme.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        base = None
        for tok in re.findall(r"`([^`]+)`", first):
            if tok.startswith(".") and base:
                tok = base.rsplit(".", 1)[0] + tok  # `ingestion.<exchange>.ws_url`, `.rest_url`
            base = tok
            if "<exchange>" in tok:
                keys.update(tok.replace("<exchange>", e) for e in EXCHANGES)
            else:
                keys.add(tok)
    return keys


def env_key(name: str) -> str:
    return name[len("TICKMESH__"):].lower().replace("__", ".")


def parse_duration_s(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        return DEFAULT_SHUTDOWN_GRACE_S
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def port_of(addr: str) -> int | None:
    m = re.search(r":(\d+)$", addr or "")
    return int(m.group(1)) if m else None


class Checker:
    def __init__(self, docs: set[str], image: str | None = None):
        self.docs = docs
        self.image = image
        self.problems: list[str] = []
        self.tickmesh_services: dict[str, dict] = {}

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def key_documented(self, where: str, name: str) -> None:
        if name.startswith("TICKMESH__") and env_key(name) not in self.docs:
            self.fail(where, f"{name} is not a documented config key ({env_key(name)} is not in README.md)")

    def check_manifests(self, objs: list[dict]) -> str:
        by_kind: dict[str, list[dict]] = {}
        for o in objs:
            by_kind.setdefault(o.get("kind", "?"), []).append(o)
        configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in by_kind.get("ConfigMap", [])}
        for name, data in configmaps.items():
            for k, v in data.items():
                self.key_documented(f"ConfigMap/{name}", k)
                if k.startswith("TICKMESH__") and is_secret_key(env_key(k)):
                    self.fail(f"ConfigMap/{name}", f"{k} carries a credential: use a secretKeyRef")
                elif CREDENTIAL_VALUE.search(str(v)):
                    self.fail(f"ConfigMap/{name}", f"the value of {k} looks like a credential: use a secretKeyRef")

        deployments: dict[str, dict] = {}
        grace = DEFAULT_SHUTDOWN_GRACE_S
        sub_url = None
        workloads = [o for o in objs if o.get("kind") in ("Deployment", "Job")]
        for w in workloads:
            meta = w["metadata"]
            where = f"{w['kind']}/{meta['name']}"
            pod = w["spec"]["template"]
            if (pod.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name") != "tickmesh":
                continue
            containers = pod["spec"].get("containers", [])
            tick = [c for c in containers if c.get("name") == "tickmesh"]
            if len(tick) != 1:
                self.fail(where, "expected exactly one container named tickmesh")
                continue
            c = tick[0]
            if self.image and c.get("image") != self.image:
                self.fail(where, f"runs the image {c.get('image')!r}, not {self.image!r} (the image ./scripts/test.sh builds)")
            args = list(c.get("command", [])[1:] if c.get("command") else []) + list(c.get("args", []))
            if w["kind"] == "Job":
                if args != ["migrate"]:
                    self.fail(where, f"a tickmesh Job must run `migrate`, not {args}")
                env = self.effective_env(where, c, configmaps)
                continue
            if len(args) != 2 or args[0] != "serve" or args[1] not in SERVICES:
                self.fail(where, f"args {args} do not name a service (serve subscription|ingestion|bridge|storage)")
                continue
            svc = args[1]
            if svc in deployments:
                self.fail(where, f"`serve {svc}` runs in two Deployments")
            deployments[svc] = w
            env = self.effective_env(where, c, configmaps)
            # Ports: the container declares them, and the process listens on them.
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
            if ports.get("grpc") != GRPC_PORT:
                self.fail(where, f"container port grpc is {ports.get('grpc')}, the binary serves gRPC on {GRPC_PORT}")
            if ports.get("metrics") != METRICS_PORT:
                self.fail(where, f"container port metrics is {ports.get('metrics')}, the binary serves /metrics on {METRICS_PORT}")
            listen = env.get("TICKMESH__SERVER__LISTEN", "127.0.0.1:50051")
            if not listen.startswith("0.0.0.0:") or port_of(listen) != ports.get("grpc"):
                self.fail(where, f"server.listen is {listen}: must be 0.0.0.0:{ports.get('grpc')} (the container's grpc port)")
            mlisten = env.get("TICKMESH__METRICS__LISTEN", "127.0.0.1:9464")
            if not mlisten.startswith("0.0.0.0:") or port_of(mlisten) != ports.get("metrics"):
                self.fail(where, f"metrics.listen is {mlisten}: must be 0.0.0.0:{ports.get('metrics')} (the container's metrics port)")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                p = c.get(probe)
                if p is None:
                    if probe != "startupProbe":
                        self.fail(where, f"{probe} missing")
                    continue
                if set(p) & {"httpGet", "tcpSocket", "exec"} or "grpc" not in p:
                    self.fail(where, f"{probe} must be a native grpc probe")
                elif p["grpc"].get("port") != GRPC_PORT or p["grpc"].get("service", "") != "":
                    self.fail(where, f"{probe} probes grpc port {p['grpc'].get('port')} service "
                                     f"{p['grpc'].get('service', '')!r}; expected {GRPC_PORT} and \"\" (overall health)")
            g = parse_duration_s(env.get("TICKMESH__SERVER__SHUTDOWN_GRACE", "4s"))
            grace = max(grace, g)
            tgps = pod["spec"].get("terminationGracePeriodSeconds", 30)
            if tgps <= g:
                self.fail(where, f"terminationGracePeriodSeconds {tgps} must exceed server.shutdown_grace ({g}s)")
            sc = c.get("securityContext") or {}
            if not (sc.get("readOnlyRootFilesystem") and sc.get("runAsNonRoot")
                    and "ALL" in (sc.get("capabilities") or {}).get("drop", [])):
                self.fail(where, "container securityContext must be runAsNonRoot, readOnlyRootFilesystem, drop ALL")
            if svc == "ingestion":
                sub_url = env.get("TICKMESH__INGESTION__SUBSCRIPTIONS_URL")

        for svc in SERVICES:
            if svc not in deployments:
                self.fail("Deployments", f"no Deployment runs `serve {svc}`")

        # Services select their Deployment and expose both ports.
        services = by_kind.get("Service", [])
        svc_of: dict[str, str] = {}
        for svc, d in deployments.items():
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            matches = [s for s in services if s["spec"].get("selector")
                       and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
            where = f"Deployment/{d['metadata']['name']}"
            if not matches:
                self.fail(where, "no Service selects its pods")
                continue
            s = matches[0]
            svc_of[svc] = s["metadata"]["name"]
            cports = {p.get("name"): p.get("containerPort") for c in d["spec"]["template"]["spec"]["containers"]
                      for p in c.get("ports", [])}
            sp = {p.get("name"): p for p in s["spec"].get("ports", [])}
            grpc = sp.get("grpc")
            if not grpc or grpc.get("port") != GRPC_PORT or grpc.get("appProtocol") != "grpc":
                self.fail(f"Service/{s['metadata']['name']}", f"needs port grpc {GRPC_PORT} with appProtocol grpc")
            elif grpc.get("targetPort") not in ("grpc", cports.get("grpc")):
                self.fail(f"Service/{s['metadata']['name']}", f"grpc targetPort {grpc.get('targetPort')} is not the container's")
            met = sp.get("metrics")
            if not met or met.get("port") != METRICS_PORT or met.get("targetPort") not in ("metrics", cports.get("metrics")):
                self.fail(f"Service/{s['metadata']['name']}", f"needs port metrics {METRICS_PORT} to the container's metrics port")

        if "subscription" in svc_of and "ingestion" in deployments:
            want = svc_of["subscription"]
            m = re.fullmatch(r"https?://([^:/]+)(?::(\d+))?/?", sub_url or "")
            host = m.group(1).split(".")[0] if m else None
            if not m or host != want or int(m.group(2) or 0) != GRPC_PORT:
                self.fail("Deployment/" + deployments["ingestion"]["metadata"]["name"],
                          f"ingestion.subscriptions_url is {sub_url!r}; expected http://{want}:{GRPC_PORT}")

        # GRPCRoutes: each gRPC service goes to the Service of the Deployment serving it.
        routed: set[str] = set()
        for r in by_kind.get("GRPCRoute", []):
            for rule in r["spec"].get("rules", []):
                backends = {b.get("name") for b in rule.get("backendRefs", [])}
                ports = {b.get("port") for b in rule.get("backendRefs", [])}
                for mt in rule.get("matches", []):
                    name = (mt.get("method") or {}).get("service")
                    target = GRPC_SERVICES.get(name)
                    where = f"GRPCRoute/{r['metadata']['name']}"
                    if target is None:
                        self.fail(where, f"routes unknown gRPC service {name!r}")
                    elif backends != {svc_of.get(target)} or ports != {GRPC_PORT}:
                        self.fail(where, f"{name} must go to {svc_of.get(target)}:{GRPC_PORT}, not {sorted(backends)}:{sorted(ports)}")
                    else:
                        routed.add(name)
        if by_kind.get("GRPCRoute") and routed != set(GRPC_SERVICES):
            self.fail("GRPCRoutes", f"not routed: {sorted(set(GRPC_SERVICES) - routed)}")

        # HTTPRoutes (the web page and gRPC-Web): a service's path prefix goes where its
        # GRPCRoute goes, and `/` (the page and the live streams) to subscription.
        for r in by_kind.get("HTTPRoute", []):
            where = f"HTTPRoute/{r['metadata']['name']}"
            prefixes: set[str] = set()
            for rule in r["spec"].get("rules", []):
                backends = {b.get("name") for b in rule.get("backendRefs", [])}
                ports = {b.get("port") for b in rule.get("backendRefs", [])}
                for mt in rule.get("matches", []):
                    path = (mt.get("path") or {}).get("value", "")
                    prefixes.add(path)
                    name = path.strip("/")
                    target = "subscription" if path == "/" else GRPC_SERVICES.get(name)
                    if target is None:
                        self.fail(where, f"routes {path!r}, which is neither / nor a gRPC service's prefix")
                    elif backends != {svc_of.get(target)} or ports != {GRPC_PORT}:
                        self.fail(where, f"{path} must go to {svc_of.get(target)}:{GRPC_PORT}, not {sorted(backends)}:{sorted(ports)}")
            wanted = {"/"} | {f"/{n}/" for n, d in GRPC_SERVICES.items() if d != "subscription"}
            if prefixes != wanted:
                self.fail(where, f"expected the prefixes {sorted(wanted)}, got {sorted(prefixes)}")

        self.tickmesh_services = {s["metadata"]["name"]: s for s in services
                                  if (s["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "tickmesh"}
        return (f"{len(objs)} objects, {len(deployments)} services, "
                f"{len(by_kind.get('Job', []))} job, {len(by_kind.get('GRPCRoute', []))} grpc routes, "
                f"{len(by_kind.get('HTTPRoute', []))} http routes")

    def check_monitoring(self, objs: list[dict], metrics: set[str], scraped: set[str] | None,
                         rules_out: Path | None) -> str:
        """The monitoring component's objects: ServiceMonitor, PrometheusRule, dashboards."""
        monitors = [o for o in objs if o.get("kind") == "ServiceMonitor"]
        rules = [o for o in objs if o.get("kind") == "PrometheusRule"]
        dashboards = [o for o in objs if o.get("kind") == "ConfigMap"
                      and (o["metadata"].get("labels") or {}).get("grafana_dashboard")]
        if not (monitors or rules or dashboards):
            return ""
        services = self.tickmesh_services
        if not monitors:
            self.fail("monitoring", "no ServiceMonitor scrapes the tickmesh Services")
        for m in monitors:
            where = f"ServiceMonitor/{m['metadata']['name']}"
            selector = (m["spec"].get("selector") or {}).get("matchLabels") or {}
            selected = {n for n, s in services.items()
                        if selector and all((s["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())}
            if selected != set(services):
                self.fail(where, f"selects {sorted(selected)}, not every tickmesh Service {sorted(services)}")
            for ep in m["spec"].get("endpoints", []):
                for name in sorted(selected):
                    ports = {p.get("name"): p.get("port") for p in services[name]["spec"].get("ports", [])}
                    if ports.get(ep.get("port")) != METRICS_PORT:
                        self.fail(where, f"endpoint port {ep.get('port')!r} is not Service/{name}'s metrics port {METRICS_PORT}")
                if ep.get("path", "/metrics") != "/metrics":
                    self.fail(where, f"endpoint path {ep.get('path')!r}: tickmesh serves /metrics")

        queries: list[tuple[str, str]] = []
        n_alerts = 0
        for r in rules:
            rname = r["metadata"]["name"]
            groups = (r.get("spec") or {}).get("groups") or []
            for g in groups:
                for rule in g.get("rules", []):
                    where = f"PrometheusRule/{rname} {rule.get('alert') or rule.get('record')}"
                    if "expr" not in rule:
                        self.fail(where, "has no expr")
                        continue
                    queries.append((where, str(rule["expr"])))
                    if "alert" in rule:
                        n_alerts += 1
                        if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
                            self.fail(where, f"severity must be one of {sorted(SEVERITIES)}")
                        ann = rule.get("annotations") or {}
                        if not ann.get("summary") or not ann.get("description"):
                            self.fail(where, "needs annotations summary and description (what broke, what to do)")
                    for job in re.findall(r'\bjob="([^"]*)"', str(rule["expr"])):
                        if job not in services:
                            self.fail(where, f'job="{job}" is no tickmesh Service (the ServiceMonitor sets job to the Service name): {sorted(services)}')
            if rules_out:
                rules_out.mkdir(parents=True, exist_ok=True)
                (rules_out / f"prometheusrule-{rname}.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
                # The same rules without annotations, for `promtool test rules`, which compares
                # annotations exactly: the unit tests assert when alerts fire and with which labels.
                bare = [{**g, "rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in g.get("rules", [])]}
                        for g in groups]
                (rules_out / f"alerts-{rname}.yaml").write_text(yaml.safe_dump({"groups": bare}, sort_keys=False))

        n_panels = 0
        for cm in dashboards:
            for key, text in (cm.get("data") or {}).items():
                where = f"ConfigMap/{cm['metadata']['name']} {key}"
                try:
                    dash = json.loads(text)
                except json.JSONDecodeError as e:
                    self.fail(where, f"is not JSON: {e}")
                    continue
                found = [(f"{where} {w}", q) for w, q in dashboard_queries(dash)]
                if not found:
                    self.fail(where, "has no Prometheus queries")
                n_panels += len(found)
                queries += found
                if rules_out:
                    record = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(q)} for i, (_, q) in enumerate(found)]
                    stem = re.sub(r"[^\w.-]", "-", f"dashboard-{cm['metadata']['name']}-{key}")
                    (rules_out / f"{stem}.yaml").write_text(
                        yaml.safe_dump({"groups": [{"name": stem, "rules": record}]}, sort_keys=False))

        used: set[str] = set()
        for where, q in queries:
            names = promql_metrics(q)
            if not names:
                self.fail(where, f"queries no metric: {q}")
            used |= names
            for name in sorted(names - metrics):
                self.fail(where, f"{name} is not a metric tickmesh exports (docs/metrics.md)")
            if scraped is not None:
                for name in sorted((names & metrics) - scraped):
                    self.fail(where, f"{name} is documented but absent from the scraped /metrics")
        unused = sorted(m.removesuffix("_bucket") for m in metrics - used if not m.endswith(("_sum", "_count")))
        summary = (f"monitoring: {len(monitors)} ServiceMonitor, {n_alerts} alerts, {n_panels} dashboard queries, "
                   f"{len(used)} metrics queried")
        if scraped is not None:
            summary += " (all in the scrape)"
        if unused:
            summary += f"; on no panel or alert: {', '.join(unused)}"
        return summary

    def effective_env(self, where: str, c: dict, configmaps: dict[str, dict]) -> dict[str, str]:
        env: dict[str, str] = {}
        for ef in c.get("envFrom", []):
            ref = ef.get("configMapRef")
            if ref:
                if ref["name"] not in configmaps:
                    self.fail(where, f"envFrom names a missing ConfigMap {ref['name']}")
                env.update(configmaps.get(ref["name"], {}))
        for e in c.get("env", []):
            name = e["name"]
            self.key_documented(where, name)
            secret = (e.get("valueFrom") or {}).get("secretKeyRef")
            if name.startswith("TICKMESH__") and is_secret_key(env_key(name)) and not secret:
                self.fail(where, f"{name} carries a credential: reference a Secret (secretKeyRef), never a literal")
            elif "value" in e and CREDENTIAL_VALUE.search(str(e["value"])):
                self.fail(where, f"the value of {name} looks like a credential: reference a Secret (secretKeyRef)")
            if "value" in e:
                env[name] = str(e["value"])
            else:
                env.pop(name, None)
        return env

    def check_compose(self, path: Path) -> str:
        doc = yaml.safe_load(path.read_text())
        n = 0
        for name, s in (doc.get("services") or {}).items():
            envs = s.get("environment") or {}
            keys = envs.keys() if isinstance(envs, dict) else [x.split("=", 1)[0] for x in envs]
            for k in keys:
                self.key_documented(f"{path.name}:{name}", k)
            if "tickmesh" not in str(s.get("image", "")):
                continue
            if self.image and s.get("image") != self.image:
                self.fail(f"{path.name}:{name}", f"runs the image {s.get('image')!r}, not {self.image!r} (the image ./scripts/test.sh builds)")
            if s.get("command") == ["serve", "ingestion"]:
                url = (envs or {}).get("TICKMESH__INGESTION__SUBSCRIPTIONS_URL", "") if isinstance(envs, dict) else ""
                subs = [k for k, v in doc["services"].items() if v.get("command") == ["serve", "subscription"]]
                if not subs or url != f"http://{subs[0]}:{GRPC_PORT}":
                    self.fail(f"{path.name}:{name}", f"ingestion.subscriptions_url {url!r} is not the subscription service")
            n += 1
            cmd = s.get("command") or []
            if cmd != ["migrate"] and not (len(cmd) == 2 and cmd[0] == "serve" and cmd[1] in SERVICES):
                self.fail(f"{path.name}:{name}", f"command {cmd} does not name a service")
        return f"{n} tickmesh services"


def validate_schemas(objs: list[dict], version: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    problems = []
    for o in objs:
        where = f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"
        if (o.get("apiVersion"), o.get("kind")) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(o, version, strict=True)
        except SchemaNotFoundError:
            problems.append(f"{where}: no Kubernetes {version} schema for {o.get('apiVersion')} {o.get('kind')}")
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{where}: schema: {e.message} at {'.'.join(str(p) for p in e.path)}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("rendered", type=Path)
    here = Path(__file__).resolve().parent
    ap.add_argument("--readme", type=Path, default=here.parent / "README.md")
    ap.add_argument("--schemas", metavar="K8S_VERSION")
    ap.add_argument("--compose", type=Path)
    ap.add_argument("--metrics-doc", type=Path, default=here.parent / "docs" / "metrics.md")
    ap.add_argument("--exposition", type=Path, action="append", default=[], metavar="SCRAPE",
                    help="a scrape of /metrics; every metric the monitoring queries must be in one")
    ap.add_argument("--rules-out", type=Path, metavar="DIR")
    ap.add_argument("--image", help="the image every tickmesh container must run")
    a = ap.parse_args()

    docs = documented_keys(a.readme)
    if len(docs) < 30:
        print(f"error: found only {len(docs)} config keys in {a.readme}: is the table format changed?", file=sys.stderr)
        return 1
    objs = [o for o in yaml.safe_load_all(a.rendered.read_text()) if o]
    ck = Checker(docs, a.image)
    summary = ck.check_manifests(objs)
    if a.schemas:
        ck.problems += validate_schemas(objs, a.schemas)
        summary += f", schemas k8s {a.schemas} (skipped CRD kinds: {', '.join(k for _, k in sorted(CRD_KINDS))})"
    if a.compose:
        summary += f"; compose: {ck.check_compose(a.compose)}"
    metrics = documented_metrics(a.metrics_doc)
    if len(metrics) < 20:
        print(f"error: found only {len(metrics)} metrics in {a.metrics_doc}: is the table format changed?", file=sys.stderr)
        return 1
    scraped = set().union(*(exposed_metrics(p) for p in a.exposition)) if a.exposition else None
    monitoring = ck.check_monitoring(objs, metrics, scraped, a.rules_out)
    if monitoring:
        summary += f"; {monitoring}"
    if ck.problems:
        print(f"{a.name}: FAILED", file=sys.stderr)
        for p in ck.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{a.name}: ok: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
