#!/usr/bin/env python3
"""Turns one tickmesh workload of a rendered kustomization into a `docker run`.

    pod_to_docker.py RENDERED.yaml COMPONENT [--secret KEY=VALUE]... [--set NAME=VALUE]...
                     [--port CONTAINER=HOST]... (--docker-args | --probes)

COMPONENT is the workload's app.kubernetes.io/component label (subscription, ingestion, bridge,
storage, migrate). The container's args, its environment (envFrom ConfigMaps in order, then env;
secretKeyRef values from --secret, optional ones left out when not given), its securityContext
(user and group, read-only root filesystem, dropped capabilities, no privilege escalation),
its emptyDir mounts (as tmpfs) and its resource limits become `docker run` options, so the
test runs each service as the manifests run it. --set replaces or adds an environment variable
after that (what differs on one host: addresses, the test backends).

--docker-args prints the options, then `--`, then the container's args, NUL-separated (read
them with `mapfile -d ''`). --probes prints shell assignments: the probes' port (mapped with
--port), periods, timeouts and failure thresholds, and terminationGracePeriodSeconds.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml


def fail(message: str) -> None:
    print(f"pod_to_docker.py: {message}", file=sys.stderr)
    sys.exit(2)


def quantity_bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|k|M|G)?", str(text))
    if not m:
        fail(f"cannot read the quantity {text!r}")
    unit = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[m.group(2)]
    return int(m.group(1)) * unit


def cpus(text: str) -> str:
    text = str(text)
    return str(int(text[:-1]) / 1000) if text.endswith("m") else text


def workload(objs: list[dict], component: str) -> dict:
    found = [o for o in objs if o.get("kind") in ("Deployment", "Job")
             and (o["spec"]["template"].get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/component") == component]
    if len(found) != 1:
        fail(f"expected one Deployment or Job with app.kubernetes.io/component={component}, found {len(found)}")
    return found[0]


def environment(c: dict, configmaps: dict[str, dict], secrets: dict[str, str], pod_name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for ef in c.get("envFrom", []):
        ref = ef.get("configMapRef")
        if not ref:
            fail(f"unsupported envFrom {ef}")
        if ref["name"] not in configmaps:
            fail(f"envFrom names the ConfigMap {ref['name']}, which the rendering lacks")
        env.update({k: str(v) for k, v in configmaps[ref["name"]].items()})
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field == "metadata.name":
            # The pod's name; the container run in its place is named after the workload.
            env[e["name"]] = pod_name
            continue
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            fail(f"unsupported env source for {e['name']}: {e.get('valueFrom')}")
        if ref["key"] in secrets:
            env[e["name"]] = secrets[ref["key"]]
        elif not ref.get("optional"):
            fail(f"{e['name']} needs the secret key {ref['key']}: pass --secret {ref['key']}=VALUE")
    return env


def docker_args(w: dict, c: dict, env: dict[str, str]) -> list[str]:
    pod = w["spec"]["template"]["spec"]
    psc = pod.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    out: list[str] = []
    user = sc.get("runAsUser", psc.get("runAsUser"))
    group = sc.get("runAsGroup", psc.get("runAsGroup"))
    if user is not None:
        out += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if sc.get("readOnlyRootFilesystem"):
        out.append("--read-only")
    for cap in (sc.get("capabilities") or {}).get("drop", []):
        out += ["--cap-drop", cap]
    if sc.get("allowPrivilegeEscalation") is False:
        out += ["--security-opt", "no-new-privileges"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"]) or fail(f"volumeMount {m['name']} has no volume")
        if "emptyDir" not in v:
            fail(f"volume {m['name']}: only emptyDir volumes are supported")
        size = (v["emptyDir"] or {}).get("sizeLimit")
        out += ["--tmpfs", m["mountPath"] + (f":size={quantity_bytes(size)}" if size else "")]
    limits = (c.get("resources") or {}).get("limits") or {}
    if "memory" in limits:
        out += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        out += ["--cpus", cpus(limits["cpu"])]
    for k, v in env.items():
        out += ["--env", f"{k}={v}"]
    return out


def probes(w: dict, c: dict, ports: dict[int, int]) -> list[str]:
    lines = []
    for name in ("startupProbe", "livenessProbe", "readinessProbe"):
        p = c.get(name)
        key = name[: -len("Probe")]
        if p is None:
            lines.append(f"{key}_port=")
            continue
        if "grpc" not in p:
            fail(f"{name} is not a grpc probe")
        port = p["grpc"]["port"]
        if p["grpc"].get("service", ""):
            fail(f"{name} probes service {p['grpc']['service']!r}; the test probes overall health")
        lines += [
            f"{key}_port={ports.get(port, port)}",
            f"{key}_period={p.get('periodSeconds', 10)}",
            f"{key}_timeout={p.get('timeoutSeconds', 1)}",
            f"{key}_failures={p.get('failureThreshold', 3)}",
        ]
    lines.append(f"grace={w['spec']['template']['spec'].get('terminationGracePeriodSeconds', 30)}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered", type=Path)
    ap.add_argument("component")
    ap.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--port", action="append", default=[], metavar="CONTAINER=HOST")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--docker-args", action="store_true")
    mode.add_argument("--probes", action="store_true")
    a = ap.parse_args()

    objs = [o for o in yaml.safe_load_all(a.rendered.read_text()) if o]
    configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in objs if o.get("kind") == "ConfigMap"}
    w = workload(objs, a.component)
    containers = [c for c in w["spec"]["template"]["spec"]["containers"] if c.get("name") == "tickmesh"]
    if len(containers) != 1:
        fail(f"{w['kind']}/{w['metadata']['name']} has no single container named tickmesh")
    c = containers[0]
    if a.probes:
        ports = {int(k): int(v) for k, v in (p.split("=", 1) for p in a.port)}
        print("\n".join(probes(w, c, ports)))
        return 0
    secrets = dict(s.split("=", 1) for s in a.secret)
    env = environment(c, configmaps, secrets, w["metadata"]["name"])
    for s in a.set:
        name, value = s.split("=", 1)
        env[name] = value
    if c.get("command"):
        fail("the container sets command (the image's entrypoint is tickmesh): only args are supported")
    args = list(c.get("args") or [])
    sys.stdout.write("\0".join(docker_args(w, c, env) + ["--"] + args) + "\0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
