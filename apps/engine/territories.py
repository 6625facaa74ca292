"""Territory tree: validation, precomputed ancestry, and matching a lead to its territory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .types import TerritoryDef

__all__ = ["TerritoryIndex", "build_territory_index", "normalise_postal"]


def normalise_postal(postal_code: str) -> str:
    """Postal codes and prefixes compare without spaces or dashes, upper case ("sw1a 1aa" -> "SW1A1AA")."""
    return postal_code.replace(" ", "").replace("-", "").upper()


@dataclass(frozen=True, slots=True, eq=False)
class TerritoryIndex:
    """Everything about the tree that matching and targets need, computed once per config."""

    defs: dict[str, TerritoryDef]
    depth: dict[str, int]
    #: code -> the code and all its ancestors
    ancestors: dict[str, frozenset[str]]
    #: code -> (code, parent, grandparent, ..., root): the walk of a "$lead" target
    chain: dict[str, tuple[str, ...]]
    #: code -> the code and all its descendants
    descendants: dict[str, frozenset[str]]
    best_by_country: dict[str, str]
    best_by_region: dict[str, str]
    #: normalised prefix -> [(code, countries the lead must be in, or None)], best first
    postal: dict[str, tuple[tuple[str, frozenset[str] | None], ...]]
    max_prefix_len: int

    def match(self, country: str | None, region: str | None, postal_code: str | None) -> str | None:
        """Most specific territory: longest postal prefix, then region, then country."""
        country_u = country.strip().upper() if country else ""
        if postal_code and self.max_prefix_len:
            p = normalise_postal(postal_code)
            for n in range(min(len(p), self.max_prefix_len), 0, -1):
                entries = self.postal.get(p[:n])
                if entries:
                    for code, countries in entries:
                        if countries is None or country_u in countries:
                            return code
        if region:
            code_r = self.best_by_region.get(region.strip().upper())
            if code_r is not None:
                return code_r
        if country_u:
            return self.best_by_country.get(country_u)
        return None


def _deeper_first(depth: dict[str, int], codes: Sequence[str]) -> list[str]:
    # ties between equally specific matches go to the deeper territory, then by code for determinism
    return sorted(codes, key=lambda c: (-depth[c], c))


def build_territory_index(
    territories: Sequence[TerritoryDef], errors: dict[str, list[str]]
) -> TerritoryIndex:
    """Validate the tree (duplicate codes, unknown parents, cycles) into ``errors`` and index it."""
    defs: dict[str, TerritoryDef] = {}
    position: dict[str, int] = {}
    for i, t in enumerate(territories):
        if not t.code or not t.code.strip():
            errors.setdefault(f"territories.{i}.code", []).append("territory code is required")
            continue
        if t.code == "$lead":
            errors.setdefault(f"territories.{i}.code", []).append("'$lead' is reserved")
            continue
        if t.code in defs:
            errors.setdefault(f"territories.{i}.code", []).append(
                f"duplicate territory code '{t.code}'"
            )
            continue
        defs[t.code] = t
        position[t.code] = i

    parent: dict[str, str | None] = {}
    for code, t in defs.items():
        if t.parent is not None and t.parent not in defs:
            errors.setdefault(f"territories.{position[code]}.parent", []).append(
                f"unknown parent territory '{t.parent}'"
            )
            parent[code] = None
        else:
            parent[code] = t.parent

    # cycle detection: walk up from each node; a node met twice on one walk closes a cycle
    in_cycle: set[str] = set()
    for code in defs:
        seen: list[str] = []
        cur: str | None = code
        while cur is not None and cur not in seen:
            seen.append(cur)
            cur = parent[cur]
        if cur is not None and cur == code:
            path = " -> ".join([*seen, code])
            errors.setdefault(f"territories.{position[code]}.parent", []).append(
                f"parent cycle: {path}"
            )
            in_cycle.add(code)
    for code in in_cycle:
        parent[code] = None  # keep going so the remaining errors are still collected

    chain: dict[str, tuple[str, ...]] = {}
    for code in defs:
        walk: list[str] = []
        cur = code
        while cur is not None and cur not in walk:
            walk.append(cur)
            cur = parent[cur]
        chain[code] = tuple(walk)
    depth = {code: len(up) - 1 for code, up in chain.items()}
    ancestors = {code: frozenset(up) for code, up in chain.items()}
    desc: dict[str, set[str]] = {code: set() for code in defs}
    for code, up in chain.items():
        for anc in up:
            desc[anc].add(code)
    descendants = {code: frozenset(s) for code, s in desc.items()}

    by_country: dict[str, list[str]] = {}
    by_region: dict[str, list[str]] = {}
    own_countries: dict[str, frozenset[str]] = {}
    for code, t in defs.items():
        cs = frozenset(c.strip().upper() for c in t.countries)
        rs = frozenset(r.strip().upper() for r in t.regions)
        for c in cs:
            by_country.setdefault(c, []).append(code)
        for r in rs:
            by_region.setdefault(r, []).append(code)
        # a region "US-CA" pins the country "US"
        own_countries[code] = cs | frozenset(r.split("-", 1)[0] for r in rs)

    postal_lists: dict[str, list[str]] = {}
    for code, t in defs.items():
        for prefix in t.postal_prefixes:
            p = normalise_postal(prefix)
            if p:
                postal_lists.setdefault(p, []).append(code)

    def country_constraint(code: str) -> frozenset[str] | None:
        # postal prefixes are country-specific: use the nearest territory (self or ancestor) naming countries
        for anc in chain[code]:
            if own_countries[anc]:
                return own_countries[anc]
        return None

    postal = {
        p: tuple((c, country_constraint(c)) for c in _deeper_first(depth, codes))
        for p, codes in postal_lists.items()
    }
    return TerritoryIndex(
        defs=defs,
        depth=depth,
        ancestors=ancestors,
        chain=chain,
        descendants=descendants,
        best_by_country={c: _deeper_first(depth, codes)[0] for c, codes in by_country.items()},
        best_by_region={r: _deeper_first(depth, codes)[0] for r, codes in by_region.items()},
        postal=postal,
        max_prefix_len=max((len(p) for p in postal), default=0),
    )
