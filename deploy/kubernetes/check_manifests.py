#!/usr/bin/env python3
"""Cross-checks of a rendered Lapor chart that JSON schemas cannot make.

Every Service and PodDisruptionBudget selects the pods of a workload; every ServiceMonitor
selects a Service that has the port it scrapes; every probe names a container port; every
workload mounts the ConfigMap that holds its config file (LAPOR_CONFIG), and every Secret
volume is one the chart makes or the operator is told to make; routing's instance id comes
from the pod name. Prints one line per finding; exits 1 if any.
"""
import sys

import yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if d]
name = sys.argv[1].rsplit("/", 1)[-1]
errors = []
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pods_of(selector):
    return [w for w in workloads if selects(selector, w["spec"]["template"]["metadata"]["labels"])]


if len(workloads) != 4:
    errors.append(f"expected 4 workloads, found {len(workloads)}")
for s in by_kind.get("Service", []):
    if len(pods_of(s["spec"]["selector"])) != 1:
        errors.append(f"Service {s['metadata']['name']} selects {len(pods_of(s['spec']['selector']))} workloads")
for p in by_kind.get("PodDisruptionBudget", []):
    if len(pods_of(p["spec"]["selector"]["matchLabels"])) != 1:
        errors.append(f"PodDisruptionBudget {p['metadata']['name']} selects no single workload")
for m in by_kind.get("ServiceMonitor", []):
    services = [s for s in by_kind.get("Service", [])
                if selects(m["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
    if len(services) != 1:
        errors.append(f"ServiceMonitor {m['metadata']['name']} selects {len(services)} Services")
        continue
    ports = {p["name"] for p in services[0]["spec"]["ports"]}
    for e in m["spec"]["endpoints"]:
        if e["port"] not in ports:
            errors.append(f"ServiceMonitor {m['metadata']['name']} scrapes port {e['port']} the Service lacks")

for w in workloads:
    wname = w["metadata"]["name"]
    spec = w["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        ports = {p["name"] for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            pr = c.get(probe)
            if not pr:
                continue
            port = (pr.get("grpc") or pr.get("tcpSocket") or pr.get("httpGet") or {}).get("port")
            if port not in ports:
                errors.append(f"{wname}: {probe} port {port} is not a container port")
        if "readinessProbe" not in c or "livenessProbe" not in c:
            errors.append(f"{wname}: readiness and liveness probes are required")
        env = {e["name"]: e for e in c.get("env", [])}
        config = env.get("LAPOR_CONFIG", {}).get("value", "")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        cdir, _, cfile = config.rpartition("/")
        mount = mounts.get(cdir)
        vol = volumes.get(mount["name"]) if mount else None
        cm = configmaps.get(vol["configMap"]["name"]) if vol and "configMap" in vol else None
        if not cm or cfile not in cm.get("data", {}):
            errors.append(f"{wname}: LAPOR_CONFIG={config} is not in a mounted ConfigMap")
        else:
            cfg = yaml.safe_load(cm["data"][cfile])
            agencies = (cfg.get("agencies") or {}).get("file")
            if agencies and agencies not in cm["data"]:
                errors.append(f"{wname}: {cfile} names {agencies}, which the ConfigMap lacks")
        for key, v in env.items():
            if key.endswith("_FILE") and "value" in v:
                d = v["value"].rpartition("/")[0]
                if d not in mounts:
                    errors.append(f"{wname}: {key}={v['value']} is in no mounted volume")
        if "routing" in wname:
            ref = env.get("LAPOR_ROUTING_INSTANCE_ID", {}).get("valueFrom", {}).get("fieldRef", {})
            if ref.get("fieldPath") != "metadata.name" or w["kind"] != "StatefulSet":
                errors.append(f"{wname}: the routing instance id must be the StatefulSet pod's name")
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False or not spec.get("securityContext", {}).get("runAsNonRoot"):
            errors.append(f"{wname}: must run as non-root without privilege escalation")
        if not c.get("resources", {}).get("requests"):
            errors.append(f"{wname}: resources.requests missing")

for e in errors:
    print(f"FAIL {name}: {e}")
if not errors:
    print(f"ok   {name}: selectors, probes, config and secret mounts consistent")
sys.exit(1 if errors else 0)
