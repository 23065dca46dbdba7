"""Offline checks of the deployment artefacts that need parsing (run by
scripts/check-deploy.sh; CI tooling, not part of qa-agent):

1. deploy/compose/docker-compose.yml validates against the Compose specification's
   JSON schema (from the `docker-compose` wheel, cached by check-deploy.sh).
2. Every `kubectl` command of the runbook names what the manifests define: deployments,
   container names, `-l app=...` labels, namespaces.
3. Every metric a Grafana panel queries is one the services export (the list comes from
   a live scrape that crates/cli/tests/runbook.rs checks; here: the families the
   services register, read from a scrape file given as argv[2] when present).
"""
import glob
import json
import re
import sys

import jsonschema
import yaml

root = sys.argv[1]
problems = []

# 1. Compose.
schema = json.load(open(sys.argv[2]))
compose = yaml.safe_load(open(f"{root}/deploy/compose/docker-compose.yml"))
for e in jsonschema.Draft7Validator(schema).iter_errors(compose):
    problems.append(f"docker-compose.yml {list(e.path)}: {e.message}")
for svc in ["agent-orchestrator", "specialist-agents", "conversation-manager",
            "learning-engine", "postgres-agent", "redis-agent-state", "prometheus",
            "grafana", "jaeger"]:
    if svc not in compose.get("services", {}):
        problems.append(f"docker-compose.yml: no service {svc}")
    elif svc not in ("jaeger", "grafana") and "healthcheck" not in compose["services"][svc]:
        problems.append(f"docker-compose.yml: {svc} has no health check")

# 2. The runbook's kubectl commands against the manifests.
docs = {}
for env in ["production", "staging"]:
    for f in sorted(glob.glob(f"{root}/k8s/{env}/*.yaml")):
        for d in yaml.safe_load_all(open(f)):
            if d:
                docs.setdefault(env, []).append(d)
prod = docs["production"]
namespaces = {d["metadata"]["name"] for env in docs.values() for d in env if d["kind"] == "Namespace"}
deployments = {d["metadata"]["name"]: d for d in prod if d["kind"] == "Deployment"}
workloads = [d for d in prod if d["kind"] in ("Deployment", "StatefulSet")]
labels = {(k, v) for d in workloads for k, v in d["spec"]["template"]["metadata"]["labels"].items()}
runbook = open(f"{root}/docs/production-runbook.md").read()
commands = [l.strip() for l in runbook.splitlines() if re.search(r"\bkubectl\b", l)]
assert len(commands) >= 15, commands
for c in commands:
    for ns in re.findall(r"-n ([\w-]+)", c):
        if ns not in namespaces:
            problems.append(f"runbook `{c}`: no namespace {ns}")
    for name in re.findall(r"deployment[/ ]([a-z][\w-]+)", c):
        if name not in deployments:
            problems.append(f"runbook `{c}`: no deployment {name}")
    for k, v in re.findall(r"-l ([\w./-]+)=([\w-]+)", c):
        if (k, v) not in labels:
            problems.append(f"runbook `{c}`: no pods labelled {k}={v}")
    m = re.search(r"set image deployment/([\w-]+) ([\w-]+)=", c)
    if m and m.group(1) in deployments:
        names = [x["name"] for x in deployments[m.group(1)]["spec"]["template"]["spec"]["containers"]]
        if m.group(2) not in names:
            problems.append(f"runbook `{c}`: deployment {m.group(1)} has no container {m.group(2)}")
    m = re.search(r'"containers":\[\{"name":"([\w-]+)","env":\[\{"name":"(\w+)"', c)
    if m:
        found = [x for d in deployments.values() for x in d["spec"]["template"]["spec"]["containers"]
                 if x["name"] == m.group(1)]
        if not found:
            problems.append(f"runbook `{c}`: no container {m.group(1)}")
        elif not any(e["name"] == m.group(2) for x in found for e in x.get("env", [])):
            problems.append(f"runbook `{c}`: container {m.group(1)} does not set {m.group(2)}")
for name, d in deployments.items():
    spec = d["spec"]
    if spec["strategy"]["type"] != "RollingUpdate":
        problems.append(f"deployment {name}: not a rolling update")
    if "kubernetes.io/change-cause" not in d["metadata"].get("annotations", {}):
        problems.append(f"deployment {name}: no kubernetes.io/change-cause")
    for x in spec["template"]["spec"]["containers"]:
        for probe, path in [("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")]:
            if x.get(probe, {}).get("httpGet", {}).get("path") != path:
                problems.append(f"deployment {name}: {probe} is not {path}")
        if not any(e["name"] == "DB_POOL_SIZE" for e in x.get("env", [])):
            problems.append(f"deployment {name}: no DB_POOL_SIZE")
        if "limits" not in x.get("resources", {}):
            problems.append(f"deployment {name}: no resource limits")
pg = [d for d in prod if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "postgres-agent"]
if not pg or "shared_preload_libraries=pg_stat_statements" not in " ".join(pg[0]["spec"]["template"]["spec"]["containers"][0]["args"]):
    problems.append("postgres-agent: pg_stat_statements is not preloaded")
if "pg_stat_statements" not in " ".join(compose["services"]["postgres-agent"]["command"]):
    problems.append("compose postgres-agent: pg_stat_statements is not preloaded")
for kind in ["Job", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "Service"]:
    if not any(d["kind"] == kind for d in prod):
        problems.append(f"k8s/production: no {kind}")

# The Kubernetes scrape config names jobs after the pods' `app` label, as the alerts expect.
k8s_prom = yaml.safe_load(open(f"{root}/deploy/prometheus/prometheus-k8s.yml"))
relabels = [r for sc in k8s_prom["scrape_configs"] for r in sc.get("relabel_configs", [])]
if not any(r.get("source_labels") == ["__meta_kubernetes_pod_label_app"] and r.get("target_label") == "job" for r in relabels):
    problems.append("prometheus-k8s.yml: no job label from the pods' app label")
if k8s_prom.get("rule_files") != ["alerts.yml"]:
    problems.append("prometheus-k8s.yml: does not load alerts.yml")

for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
