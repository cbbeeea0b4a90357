{{/* Names and labels shared by every object of the chart. */}}
{{- define "lapor.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lapor.labels" -}}
app.kubernetes.io/part-of: lapor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "name" "intake"). */}}
{{- define "lapor.selector" -}}
app.kubernetes.io/name: lapor-{{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "lapor.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{ printf "%s/lapor-%s:%s" (trimSuffix "/" .root.Values.image.registry) .name $tag }}
{{- else -}}
{{ printf "localhost/lapor-%s:%s" .name $tag }}
{{- end -}}
{{- end -}}
