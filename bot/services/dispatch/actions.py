"""Button actions of recurring upkeep (红管家), set by stewards and admins with `/upkeep`.

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.dispatch.upkeep`, as the
comment above each group says. A wire code is what buttons already sent carry: never change or
reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/dispatch/upkeep.py
UPKEEP_COMPOUND = declare("upkeep.compound", "upk", "compound_id")
UPKEEP_SET = declare("upkeep.set", "upkc", "compound_id", "check", "how")
