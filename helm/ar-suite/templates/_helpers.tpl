{{/* The chart's name, or nameOverride. */}}
{{- define "ar-suite.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-ar-suite (or fullnameOverride); each service's objects add -<service>. */}}
{{- define "ar-suite.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ar-suite.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ar-suite.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ar-suite.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ar-suite.labels" -}}
helm.sh/chart: {{ include "ar-suite.chart" . }}
{{ include "ar-suite.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ar-suite.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ar-suite.secretName" -}}
{{- default (include "ar-suite.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
The --kafka_property list (comma-separated key=value): kafka.properties, then the SASL
settings when kafka.sasl.enabled. The flag splits on commas, so no value may hold one.
*/}}
{{- define "ar-suite.kafkaProperties" -}}
{{- $properties := list -}}
{{- range .Values.kafka.properties -}}
{{- $properties = append $properties . -}}
{{- end -}}
{{- with .Values.kafka.sasl -}}
{{- if .enabled -}}
{{- $properties = append $properties (printf "security.protocol=%s" .securityProtocol) -}}
{{- $properties = append $properties (printf "sasl.mechanisms=%s" .mechanism) -}}
{{- $properties = append $properties (printf "sasl.username=%s" (required "kafka.sasl.username is required when kafka.sasl.enabled" .username)) -}}
{{- $properties = append $properties (printf "sasl.password=%s" (required "kafka.sasl.password is required when kafka.sasl.enabled" .password)) -}}
{{- end -}}
{{- end -}}
{{- range $properties -}}
{{- if contains "," . -}}
{{- fail "a Kafka property (kafka.properties or kafka.sasl.*) contains a comma, which --kafka_property cannot carry" -}}
{{- end -}}
{{- end -}}
{{- join "," $properties -}}
{{- end -}}
