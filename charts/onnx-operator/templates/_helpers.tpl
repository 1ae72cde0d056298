{{/* The chart name, or nameOverride. */}}
{{- define "onnx-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name of every object: fullnameOverride, or <release>-<chart> (just <release> when it contains the chart name). */}}
{{- define "onnx-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "onnx-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "onnx-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "onnx-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "onnx-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: onnx-operator
{{- end -}}

{{- define "onnx-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "onnx-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "onnx-operator.leaseName" -}}
{{- default (include "onnx-operator.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- define "onnx-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The rules the operator needs in every namespace it watches. Each line is a request the operator
sends (docs/install.md#rbac lists where in the code); a missing verb shows as a 403 in its
metrics (onnxop_operator_kube_requests_total{code="403"}) and fails the chart's lab test.
*/}}
{{- define "onnx-operator.namespacedRules" -}}
# The OnnxModel informer (list, watch) and the status the operator writes (server-side apply).
- apiGroups: [serving.onnxop.io]
  resources: [onnxmodels]
  verbs: [list, watch]
- apiGroups: [serving.onnxop.io]
  resources: [onnxmodels/status]
  verbs: [patch]
# Children carry ownerReferences with blockOwnerDeletion: clusters that enforce
# OwnerReferencesPermissionEnforcement (OpenShift) check update on the owner's finalizers.
- apiGroups: [serving.onnxop.io]
  resources: [onnxmodels/finalizers]
  verbs: [update]
# Children: cached by informers (list, watch), written by server-side apply (patch; an apply that
# creates the object is authorized as create too), removed when a revision is scaled down (delete).
- apiGroups: [apps]
  resources: [deployments, controllerrevisions]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [list, watch, create, patch, delete]
# Events on OnnxModels (events.k8s.io/v1 only).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
# Verification reads the bundle and trust material an OnnxModel names, by name (never lists).
- apiGroups: [""]
  resources: [{{ if .Values.rbac.readSecrets }}secrets, {{ end }}configmaps]
  verbs: [get]
{{- end -}}
