"""The district file's dual-reporting section (双报到): reporting units, their liaisons and
their co-building pairings with communities.

```yaml
reporting_units:
  - code: zjj
    name_zh: 区住建局
    kind: organ                # organ | enterprise | institution
    resources: {skills: [masonry], equipment: [scaffold], funds: [50000]}
    liaisons: ["demo:liaison-wang"]   # a person of the file or the database, by an identity
    pairs_with: [{community: heshun, since: 2021-03-01}]
```
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.cobuild import ReportingUnitKind

UnitCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
# "channel:external_id", the identity of the person acting for the unit.
IdentityRef = Annotated[str, StringConstraints(min_length=3, max_length=121, pattern=r"^[^:]+:.+$")]
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class ResourcesRow(_Row):
    """What a unit can bring to its paired communities."""

    skills: list[Item] = []
    equipment: list[Item] = []
    funds: list[Item] = []


class PairingRow(_Row):
    community: UnitCode
    since: date


class ReportingUnitRow(_Row):
    code: UnitCode
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    kind: ReportingUnitKind
    resources: ResourcesRow = Field(default_factory=ResourcesRow)
    liaisons: list[IdentityRef] = []
    pairs_with: list[PairingRow] = []


def split_identity(ref: str) -> tuple[str, str]:
    """`"demo:liaison-wang"` as `("demo", "liaison-wang")`."""
    channel, external_id = ref.split(":", 1)
    return channel, external_id
