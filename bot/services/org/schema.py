"""The district file: its schema (pydantic models) and a YAML reader that keeps line numbers.

A bad file raises ImportFileError naming the line and the field of every problem: the YAML is
composed into nodes (which carry their marks), constructed, validated with the models below,
and each error location is walked back through the nodes to its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot.exceptions import ImportFileError
from bot.services.org.cobuild_schema import ReportingUnitRow
from models.org import UnitKind
from models.person import DEMO_CHANNEL, Role

Loc = tuple[str | int, ...]
WECOM_CHANNEL = "wecom"  # the channel of `wecom_userid` (bot.channels.wecom.CHANNEL)

Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
NameZh = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
NameEn = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


def _closed_ring(ring: list[tuple[Lon, Lat]]) -> list[tuple[Lon, Lat]]:
    if len(ring) < 4:
        raise ValueError("a polygon ring needs at least 4 positions")
    if ring[0] != ring[-1]:
        raise ValueError("a polygon ring must end where it starts")
    return ring


Ring = Annotated[list[tuple[Lon, Lat]], AfterValidator(_closed_ring)]


class Row(BaseModel):
    """A mapping in the file: unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class PolygonGeometry(Row):
    type: Literal["Polygon"]
    coordinates: list[Ring] = Field(min_length=1)


class MultiPolygonGeometry(Row):
    type: Literal["MultiPolygon"]
    coordinates: list[Annotated[list[Ring], Field(min_length=1)]] = Field(min_length=1)


Geometry = Annotated[PolygonGeometry | MultiPolygonGeometry, Field(discriminator="type")]


class UnitRow(Row):
    code: Code
    name_zh: NameZh
    name_en: NameEn = ""
    contact: str = Field(default="", max_length=200)


class HouseholdRow(UnitRow):
    pass


class BuildingGroupRow(UnitRow):
    households: list[HouseholdRow] = []


class GridRow(UnitRow):
    boundary: Geometry | None = None
    building_groups: list[BuildingGroupRow] = []


class CommunityRow(UnitRow):
    grids: list[GridRow] = []


class StreetRow(UnitRow):
    communities: list[CommunityRow] = []


class TeamRow(UnitRow):
    pairs_with: list[Code] = []


class BuildingRow(Row):
    number: str = Field(min_length=1, max_length=40)
    grid: Code
    units: int = Field(default=1, ge=1)
    floors: int | None = Field(default=None, ge=1)
    households: int = Field(default=0, ge=0)


class CompoundRow(Row):
    code: Code
    name_zh: NameZh
    name_en: NameEn = ""
    community: Code
    households: int = Field(default=0, ge=0)
    built_year: int | None = Field(default=None, ge=1800, le=2100)
    no_property_management: bool = False
    workstation: Code | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    buildings: list[BuildingRow] = []

    @model_validator(mode="after")
    def _both_coordinates(self) -> CompoundRow:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class CategoryRow(Row):
    slug: Slug
    name_zh: NameZh
    name_en: NameEn = Field(min_length=1)
    keywords: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = []
    sla_hours: int = Field(default=168, ge=1)
    skill: str | None = Field(default=None, max_length=40)
    owner_kinds: list[UnitKind] = []
    maintenance: bool = False
    asks_location: bool = False
    department_codes: list[Code] = []
    sort_order: int | None = None


class AddressRow(Row):
    compound: Code
    building: str | None = Field(default=None, max_length=40)
    unit_room: str = Field(default="", max_length=40)


class IdentityRow(Row):
    channel: str = Field(min_length=1, max_length=20)
    external_id: str = Field(min_length=1, max_length=100)
    chat_id: str | None = Field(default=None, max_length=100)


class RoleRow(Row):
    role: Role
    unit: Code


class VolunteerRow(Row):
    team: Code
    skills: list[str] = []
    is_leader: bool = False


class PersonRow(Row):
    display_name: str = Field(min_length=1, max_length=200)
    language: Literal["zh", "en"] | None = None
    phone: str | None = Field(default=None, max_length=32)
    address: AddressRow | None = None
    identities: list[IdentityRow] = []
    # The member's WeCom (企业微信) userid: an identity on the "wecom" channel.
    wecom_userid: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    roles: list[RoleRow] = []
    volunteer: VolunteerRow | None = None
    demo: bool = False  # acted as in demo mode; talks on the "demo" channel only (demo_fence)

    @model_validator(mode="after")
    def _identities(self) -> PersonRow:
        known = {(i.channel, i.external_id) for i in self.identities}
        if self.wecom_userid is not None and (WECOM_CHANNEL, self.wecom_userid) not in known:
            self.identities.append(
                IdentityRow(channel=WECOM_CHANNEL, external_id=self.wecom_userid)
            )
        if not self.identities:
            raise ValueError("a person needs at least one identity (or a wecom_userid)")
        if {ident.channel == DEMO_CHANNEL for ident in self.identities} != {self.demo}:
            raise ValueError(f"demo: true and the {DEMO_CHANNEL} channel go together")
        return self


class OrgDocument(Row):
    """The whole district file; every section is optional."""

    version: Literal[1] = 1
    district: UnitRow | None = None
    streets: list[StreetRow] = []
    workstations: list[UnitRow] = []
    departments: list[UnitRow] = []
    teams: list[TeamRow] = []
    compounds: list[CompoundRow] = []
    categories: list[CategoryRow] = []
    people: list[PersonRow] = []
    reporting_units: list[ReportingUnitRow] = []  # dual reporting (双报到), cobuild_schema


@dataclass
class UnitSpec:
    """One org unit of the file, flattened, with where it sits and where it was written."""

    row: UnitRow
    kind: UnitKind
    parent_code: str | None
    depth: int
    loc: Loc
    community_code: str | None = None  # for grids and below: the community they are in


def flatten_units(document: OrgDocument) -> list[UnitSpec]:
    """Every org unit of the document, parents before children."""
    specs: list[UnitSpec] = []
    district = document.district
    if district is None:
        return specs
    root = district.code
    specs.append(UnitSpec(district, UnitKind.district, None, 0, ("district",)))
    for si, street in enumerate(document.streets):
        s_loc: Loc = ("streets", si)
        specs.append(UnitSpec(street, UnitKind.street, root, 1, s_loc))
        for ci, community in enumerate(street.communities):
            c_loc = (*s_loc, "communities", ci)
            specs.append(UnitSpec(community, UnitKind.community, street.code, 2, c_loc))
            for gi, grid in enumerate(community.grids):
                g_loc = (*c_loc, "grids", gi)
                specs.append(
                    UnitSpec(grid, UnitKind.grid, community.code, 3, g_loc, community.code)
                )
                for bi, group in enumerate(grid.building_groups):
                    b_loc = (*g_loc, "building_groups", bi)
                    specs.append(
                        UnitSpec(
                            group, UnitKind.building_group, grid.code, 4, b_loc, community.code
                        )
                    )
                    for hi, household in enumerate(group.households):
                        h_loc = (*b_loc, "households", hi)
                        parent, cc = group.code, community.code
                        specs.append(UnitSpec(household, UnitKind.household, parent, 5, h_loc, cc))
    for section, kind in (
        ("workstations", UnitKind.workstation),
        ("departments", UnitKind.department),
        ("teams", UnitKind.team),
    ):
        rows: Sequence[UnitRow] = getattr(document, section)
        for i, row in enumerate(rows):
            specs.append(UnitSpec(row, kind, root, 1, (section, i)))
    return specs


@dataclass
class Problems:
    """Problems found in a parsed document, each placed at a line through the node tree."""

    source: str
    root: yaml.Node | None
    items: list[tuple[Loc, str]] = field(default_factory=list)

    def add(self, loc: Loc, message: str) -> None:
        """Record a problem at a location of the document."""
        self.items.append((loc, message))

    def raise_if_any(self) -> None:
        """Raise one ImportFileError listing every problem with its line and field."""
        if not self.items:
            return
        lines = [locate(self.root, loc, message) for loc, message in self.items]
        raise ImportFileError(_summary(self.source, lines))


def _summary(source: str, lines: list[str]) -> str:
    noun = "problem" if len(lines) == 1 else "problems"
    return f"{source}: {len(lines)} {noun}\n  " + "\n  ".join(lines)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]
    return None


def field_name(parts: Iterable[str | int]) -> str:
    """`("streets", 0, "code")` as `streets[0].code`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def locate(root: yaml.Node | None, loc: Loc, message: str) -> str:
    """`line N, field F: message` for a location, walking the node tree as far as it goes.

    Parts that name no node (pydantic's union tags, or the key of a missing field) are skipped
    in the walk; a missing key is still named in the field.
    """
    node = root
    shown: list[str | int] = []
    for i, part in enumerate(loc):
        child = _child(node, part) if node is not None else None
        if child is not None:
            node = child
            shown.append(part)
        elif i == len(loc) - 1:
            shown.append(part)
    line = node.start_mark.line + 1 if node is not None else 1
    return f"line {line}, field {field_name(shown)}: {message}"


def _check_duplicate_keys(node: yaml.Node, source: str) -> None:
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in keys:
                        line = key.start_mark.line + 1
                        where = f"line {line}, field {key.value}: the key appears twice"
                        raise ImportFileError(_summary(source, [where]))
                    keys.add(key.value)
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None) or ""
    problem = getattr(exc, "problem", None) or str(exc)
    # An unclosed flow collection or quoted scalar is only noticed later, often on the next
    # line; its context mark is where it opened, the line with the faulty field.
    opened = any(word in context for word in ("flow", "quoted", "scalar"))
    mark = context_mark if (opened and context_mark is not None) else problem_mark
    if mark is None:
        return f"line 1, field (document): invalid YAML: {problem}"
    detail = f"{context} {problem}".strip() if opened else problem
    if opened and problem_mark is not None and problem_mark.line != mark.line:
        detail += f" (on line {problem_mark.line + 1})"
    lines = text.splitlines()
    key = "(document)"
    for number in range(min(mark.line, len(lines) - 1), -1, -1):
        stripped = lines[number].strip().lstrip("- ").strip()
        if ":" in stripped and not stripped.startswith("#"):
            key = stripped.split(":", 1)[0].strip().strip("'\"{") or key
            break
    return f"line {mark.line + 1}, field {key}: invalid YAML: {detail}"


def parse_document(text: str, *, source: str) -> tuple[OrgDocument, yaml.Node | None]:
    """Parse and validate the district file's text; raise ImportFileError with line and field."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_duplicate_keys(root, source)
        data: Any = loader.construct_document(root) if root is not None else {}
    except yaml.YAMLError as exc:
        raise ImportFileError(_summary(source, [_yaml_problem(exc, text)])) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        where = (
            f"line 1, field (document): expected a mapping of sections, got {type(data).__name__}"
        )
        raise ImportFileError(_summary(source, [where]))
    try:
        return OrgDocument.model_validate(data), root
    except ValidationError as exc:
        problems = Problems(source, root)
        for error in exc.errors(include_url=False):
            message = error["msg"]
            value = error.get("input")
            if error["type"] != "missing" and not isinstance(value, dict | list):
                message += f" (got {value!r})"
            problems.add(tuple(error["loc"]), message)
        problems.raise_if_any()
        raise  # unreachable: there was at least one error
