"""Button actions of people and their place in the organisation: the main menu and language,
/privacy, admins' invites and onboarding (street, community, compound, building, room, phone).

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.common`,
`handlers.org.privacy`, `handlers.org.admin_invite`, `handlers.org.onboarding`, as the comment
above each group says. A wire code is what buttons already sent carry: never change or reuse
one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/common.py
MENU = declare("menu.show", "menu")
CHOOSE_LANGUAGE = declare("language.choose", "lang")
SET_LANGUAGE = declare("language.set", "setlang", "locale")
HELP_ALL = declare("help.all", "helpall")

# handlers/org/privacy.py
PRIVACY = declare("privacy.show", "privacy")
DELETE_DATA = declare("privacy.delete", "pdel")
DELETE_DATA_CONFIRMED = declare("privacy.delete_confirmed", "pdelok")

# handlers/org/admin_invite.py
INVITE_ROLE = declare("invite.role", "ainr", "role")
INVITE_TEAM = declare("invite.team", "ainv", "role", "unit_id", "leader")
INVITE_CREATE = declare("invite.create", "ainc", "role", "unit_id", "leader")

# handlers/org/onboarding.py
PICK_STREET = declare("onboarding.street", "st", "street_id")
PICK_COMMUNITY = declare("onboarding.community", "cm", "community_id", "page")
PICK_COMPOUND = declare("onboarding.compound", "cp", "compound_id")
PICK_BUILDING = declare("onboarding.building", "bd", "building_id")
SKIP_ROOM = declare("onboarding.skip_room", "skiproom")
SKIP_PHONE = declare("onboarding.skip_phone", "skipphone")
SHARE_LOCATION = declare("onboarding.location", "onbloc")
NOT_THIS_COMPOUND = declare("onboarding.not_this_compound", "onbst")
