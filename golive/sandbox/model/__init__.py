"""The model double: an OpenAI-compatible chat model for the agent flows of a real n8n.

n8n's OpenAI credential has a base URL field; each organisation's credential points it at
`<double>/orgs/<slug>/v1`, so the real AI Agent node runs deterministically and the double knows
which organisation asked. What it answers (see `behaviour`):

* a customer message that asks for the organisation's keyword (e.g. "orçamento") gets a tool
  call to the stage-move tool the agent offers, with the target stage and a summary;
* once that tool has answered, or for any other message, a plain answer.

Every request is recorded (organisation, the messages, the tools offered, the answer) and can be
read on the double-only route `GET /__double/requests`. The fault `model-never-calls-tool` makes
the double answer in plain text even when the customer asks for the next step.
"""

from __future__ import annotations

from golive.sandbox.model.double import ModelDouble, ModelSetup

__all__ = ["ModelDouble", "ModelSetup"]
