-- Resource actions of an onnx-operator OnnxModel. Each one sets the annotation
-- serving.onnxop.io/action to <verb>/<nonce>; the operator acts once per value (docs/rollout.md).
-- An action is enabled only where the operator's rollout state machine would act on it
-- (operator/src/core/rollout/machine.ts); elsewhere the operator would ignore it.
local actions = {}
local status = obj.status or {}
local rollout = status.rollout
local state = nil
local pauseReason = nil
if status.canary ~= nil and rollout ~= nil then
  state = rollout.state
  pauseReason = rollout.pauseReason
end

-- promote: past the current step (after the last one: promotion), from Holding or a pause a human
-- can end; not while the canary's pods start, nor while no traffic can be given to it.
local promotable = state == "Holding" or (state == "Paused" and pauseReason ~= "TrafficProviderUnavailable" and pauseReason ~= "AnalysisInvalid")
actions["promote"] = {["disabled"] = not promotable, ["iconClass"] = "fa fa-fw fa-forward", ["displayName"] = "Promote (next step)"}
-- abort: roll the canary back, in any state of a rollout.
actions["abort"] = {["disabled"] = state == nil, ["iconClass"] = "fa fa-fw fa-rotate-left", ["displayName"] = "Abort (roll back)"}
-- pause: hold the canary at its weight; resume: go on after a manual pause or a wait for data.
actions["pause"] = {["disabled"] = state ~= "Holding", ["iconClass"] = "fa fa-fw fa-pause", ["displayName"] = "Pause"}
actions["resume"] = {["disabled"] = not (state == "Paused" and (pauseReason == "ManualPause" or pauseReason == "WaitingForData")), ["iconClass"] = "fa fa-fw fa-play", ["displayName"] = "Resume"}
-- retry: deploy again the revision the spec asks for after it was rolled back or failed.
local failed = false
if status.desiredRevision ~= nil and status.failedRevisions ~= nil then
  for _, f in ipairs(status.failedRevisions) do
    if f.revision == status.desiredRevision then
      failed = true
    end
  end
end
actions["retry"] = {["disabled"] = not failed, ["iconClass"] = "fa fa-fw fa-redo", ["displayName"] = "Retry"}
return actions
