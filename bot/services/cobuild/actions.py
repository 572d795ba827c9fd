"""Button actions of dual reporting and co-building: "v1:<action>:<id>".

Declared once here, where both the services that build the buttons and the handlers that
answer them (handlers/cobuild/) may import them. A wire code is what buttons already sent
carry: never change or reuse one.
"""

from __future__ import annotations

# handlers/cobuild/members.py
REPORT_TO = "cbru"  # unit id: report in as a member of this unit
MEMBER_CONFIRM = "cbmok"  # member id
MEMBER_DECLINE = "cbmno"  # member id
JOIN = "cbjoin"  # activity id
HOURS_CONFIRM = "cbhok"  # service hours id
# handlers/cobuild/needs.py
RAISE = "cbraise"  # request id: raise a need from this request's cluster
SUPPORT = "cbsup"  # need id
BOARD = "cbboard"
# handlers/cobuild/projects.py
PROJECT_CONFIRM = "cbpok"  # project id
PROJECT_DECLINE = "cbpno"  # project id
GRADE = "cbgrade"  # project id, score 1-5
