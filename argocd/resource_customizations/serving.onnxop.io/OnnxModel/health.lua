-- Health of an onnx-operator OnnxModel (serving.onnxop.io), read from the status the operator
-- writes: phase, conditions, status.rollout and status.lastAnalysis (docs/conditions.md).
-- Uses only what Argo CD gives every script (base, table, a safe os): no string or math library,
-- so it runs from argocd-cm without useOpenLibs.
local hs = {}

local function condition(status, ctype)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function said(c)
  if c == nil then
    return ""
  end
  if c.message == nil or c.message == "" then
    return c.reason or ""
  end
  return (c.reason or "") .. ": " .. c.message
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. (generation or 1)
  return hs
end
if generation ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation .. " (status is of generation " .. status.observedGeneration .. ")"
  return hs
end

local phase = status.phase
local degraded = condition(status, "Degraded")
local available = condition(status, "Available")
local progressing = condition(status, "Progressing")
local ready = condition(status, "Ready")

-- Rolled back, verification refused, pods that cannot be created, a deadline missed, an analysis
-- that cannot measure: the operator says so in Degraded, with the reason and the numbers.
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = said(degraded)
  return hs
end
-- The stable revision lost all its pods (it served before: not a first revision starting).
if available ~= nil and available.status == "False" and available.reason == "StableUnavailable" and phase ~= "Deploying" and phase ~= "Pending" then
  hs.status = "Degraded"
  hs.message = said(available)
  return hs
end
if phase == "RolledBack" or phase == "Failed" then
  hs.status = "Degraded"
  if status.lastRollback ~= nil and phase == "RolledBack" then
    hs.message = "RolledBack (" .. (status.lastRollback.reason or "") .. "): " .. (status.lastRollback.message or "")
  else
    hs.message = phase .. ": " .. said(progressing)
  end
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end

local rollout = status.rollout
if phase == "Paused" then
  hs.status = "Suspended"
  if progressing ~= nil and progressing.message ~= nil then
    hs.message = said(progressing)
  elseif rollout ~= nil then
    hs.message = (rollout.pauseReason or "Paused") .. ": canary " .. (rollout.revision or "") .. " paused at " .. (rollout.weight or 0) .. "%"
  else
    hs.message = "Paused"
  end
  return hs
end

if phase == "Progressing" and rollout ~= nil then
  local steps = 1
  if obj.spec ~= nil and obj.spec.rollout ~= nil and obj.spec.rollout.steps ~= nil and #obj.spec.rollout.steps > 0 then
    steps = #obj.spec.rollout.steps
  end
  local doing = "analysis measuring"
  if rollout.state == "Scaling" then
    doing = "canary pods starting"
  end
  local verdict = "no analysis of this canary yet"
  local last = status.lastAnalysis
  if last ~= nil and last.revision == rollout.revision then
    verdict = "last analysis: " .. (last.verdict or "none")
    if last.reason ~= nil and last.reason ~= "" then
      verdict = verdict .. " (" .. last.reason .. ")"
    end
  end
  hs.status = "Progressing"
  hs.message = "Canary " .. (rollout.revision or "") .. " at " .. (rollout.weight or 0) .. "% of traffic, step " .. ((rollout.step or 0) + 1) .. "/" .. steps .. ", " .. doing .. "; " .. verdict
  return hs
end

if phase == "Stable" then
  if available ~= nil and available.reason == "ScaledToZero" then
    -- replicas: 0 is what the spec asks for, as for a Deployment scaled to zero
    hs.status = "Healthy"
    hs.message = said(available)
    return hs
  end
  hs.status = "Progressing"
  hs.message = said(ready)
  return hs
end

if phase == "Verifying" then
  hs.status = "Progressing"
  hs.message = "Verifying: " .. said(condition(status, "ArtifactVerified"))
  return hs
end
if phase == "Deploying" or phase == "Pending" or phase == nil then
  hs.status = "Progressing"
  if progressing ~= nil then
    hs.message = said(progressing)
  else
    hs.message = phase or "Pending"
  end
  return hs
end

hs.status = "Unknown"
hs.message = "Unknown phase " .. tostring(phase)
return hs
