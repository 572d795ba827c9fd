"""Button actions of the red whistle: a summoned department's answers, on the summons push
(`summons.summons_push`).

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.whistles.whistle`, as the
comment above each group says. A wire code is what buttons already sent carry: never change or
reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/whistles/whistle.py
ACKNOWLEDGE = declare("whistle.acknowledge", "whack", "summons_id")
ON_SITE = declare("whistle.on_site", "whsite", "summons_id")
DONE = declare("whistle.done", "whdone", "summons_id")
