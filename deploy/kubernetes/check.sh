#!/usr/bin/env bash
# The chart check of `make test` (ctest chart.helm): `helm lint --strict`, `helm template` of
# the defaults and of every optional part switched on, each rendering validated against the
# Kubernetes JSON schemas (kubernetes-validate from PyPI, which carries them) of the oldest and
# newest supported release, and cross-checks the schemas cannot make (check_manifests.py):
# selectors that select, probe and ServiceMonitor ports that exist, config files present.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/versions.env
source "$repo_root/deploy/versions.env"
helm=$(bash "$here/deps.sh")
venv=$repo_root/.cache/chart-venv
stamp=$(sha256sum <"$here/requirements.txt" | cut -c1-16)
if [[ ! -f $venv/.stamp-$stamp ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  "$venv/bin/pip" install -q PyYAML==6.0.4
  touch "$venv/.stamp-$stamp"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
newest=${KUBERNETES_VERSIONS##* }

# helm warns about the link to deploy/config on every call; that one is intended.
quiet() { grep -v 'found symbolic link in path' >&2 || true; }

"$helm" lint --strict --kube-version "$newest" "$here/lapor" 2> >(quiet)
all_on=(--set metrics.serviceMonitor.enabled=true --set services.intake.hpa.enabled=true
  --set secrets.create=true --set secrets.kafkaCa=ca --set secrets.kafka.intake=k
  --set secrets.redis.intake=r --set grpcTls.secretName=lapor-grpc-tls
  --set services.notification.webhookSecret=lapor-webhooks --set image.registry=registry.example/lapor
  --set env.LAPOR_SERVICE_LOG_LEVEL=debug)
scram=(--set kafka.securityProtocol=sasl_ssl)
plain=(--set kafka.securityProtocol=plaintext --set kafka.caSecret=)
status=0
for variant in defaults all_on scram plain; do
  case $variant in
    defaults) extra=() ;;
    all_on) extra=("${all_on[@]}") ;;
    scram) extra=("${scram[@]}") ;;
    plain) extra=("${plain[@]}") ;;
  esac
  for k in $KUBERNETES_VERSIONS; do
    file=$out/$variant-$k.yaml
    "$helm" template lapor "$here/lapor" --namespace lapor --kube-version "$k" "${extra[@]}" \
      >"$file" 2> >(quiet)
    # ServiceMonitor is a CRD of the Prometheus Operator: not in the Kubernetes schemas, it is
    # checked by check_manifests.py instead.
    if ! "$venv/bin/kubernetes-validate" -k "$k" --strict --quiet "$file" 2>&1 |
      grep -v "Couldn't find schema for kind ServiceMonitor" | tee "$out/validate.log" | grep -q .; then
      echo "ok   $variant: schema of Kubernetes $k"
    else
      cat "$out/validate.log" >&2
      echo "FAIL $variant: schema of Kubernetes $k" >&2
      status=1
    fi
    "$venv/bin/python" "$here/check_manifests.py" "$file" || status=1
  done
done
exit "$status"
