"""ENTSO-E Transparency Platform day-ahead prices (document A44): XML parsing and fetch.

A ``Publication_MarketDocument`` holds ``TimeSeries`` → ``Period`` (``timeInterval`` start/end,
``resolution`` such as PT60M or PT15M) → ``Point`` (``position`` from 1, ``price.amount`` in
EUR/MWh). Curve type A01 lists every point; A03 ("variable sized block") omits points whose price
equals the previous one, so a missing position repeats the last price. An
``Acknowledgement_MarketDocument`` is the API's way to say "no data" or "bad request".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import httpx
import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput, TariffError
from optimizer.tariffs.http import DEFAULT_POLICY, HttpPolicy, get
from optimizer.tariffs.model import END, PRICE, price_frame
from optimizer.timeseries import parse_utc, require_utc

ZONES: dict[str, str] = {
    "NL": "10YNL----------L",
    "BE": "10YBE----------2",
    "DE-LU": "10Y1001A1001A82H",
    "FR": "10YFR-RTE------C",
    "AT": "10YAT-APG------L",
    "DK1": "10YDK-1--------W",
    "DK2": "10YDK-2--------M",
    "ES": "10YES-REE------0",
    "PL": "10YPL-AREA-----S",
    "FI": "10YFI-1--------U",
    "SE3": "10Y1001A1001A46L",
    "NO1": "10YNO-1--------2",
}
_RESOLUTION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


def zone_code(zone: str) -> str:
    """The EIC code of a bidding zone name (``NL``) or an EIC code given as is."""
    if zone.upper() in ZONES:
        return ZONES[zone.upper()]
    if len(zone) == 16 and zone.startswith("10Y"):
        return zone
    raise TariffError(
        f"tariff.bidding_zone = {zone!r}: unknown; use one of {', '.join(ZONES)} or an EIC code"
    )


def _text(node: ET.Element, path: str, where: str) -> str:
    found = node.find(path)
    if found is None or found.text is None or not found.text.strip():
        raise TariffError(f"{where}: missing {path.replace('{*}', '')}")
    return found.text.strip()


def _resolution(text: str, where: str) -> timedelta:
    match = _RESOLUTION.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise TariffError(f"{where}: resolution {text!r} is not PTnM/PTnH")
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


def _utc(text: str, where: str) -> datetime:
    try:
        return parse_utc(text, where)
    except InvalidInput as exc:
        raise TariffError(str(exc)) from None


def _points(period: ET.Element, where: str, slots: int) -> dict[int, float]:
    points: dict[int, float] = {}
    for number, point in enumerate(period.findall("{*}Point"), start=1):
        here = f"{where} Point {number}"
        raw_position, raw_price = (
            _text(point, "{*}position", here),
            _text(point, "{*}price.amount", here),
        )
        try:
            position, price = int(raw_position), float(raw_price)
        except ValueError:
            raise TariffError(f"{here}: position {raw_position!r} / price {raw_price!r}") from None
        if not 1 <= position <= slots:
            raise TariffError(f"{here}: position {position} outside 1..{slots}")
        points[position] = price
    return points


def _period_rows(
    period: ET.Element, curve: str, where: str
) -> tuple[list[datetime], timedelta, list[float]]:
    start = _utc(_text(period, "{*}timeInterval/{*}start", where), f"{where} start")
    end = _utc(_text(period, "{*}timeInterval/{*}end", where), f"{where} end")
    step = _resolution(_text(period, "{*}resolution", where), where)
    slots = int((end - start) / step)
    points = _points(period, where, slots)
    if curve == "A03":
        if 1 not in points:
            raise TariffError(f"{where}: curve A03 without position 1")
        last = points[1]
        for position in range(1, slots + 1):
            last = points.setdefault(position, last)
    positions = sorted(points)
    return [start + (p - 1) * step for p in positions], step, [points[p] for p in positions]


def _check_units(series: ET.Element, where: str) -> None:
    unit = series.find("{*}price_Measure_Unit.name")
    if unit is not None and (unit.text or "").strip().upper() != "MWH":
        raise TariffError(f"{where}: price unit {unit.text!r}, expected MWH")


def parse_document(body: bytes | str) -> pd.DataFrame:
    """Every slot of every TimeSeries: index UTC start, columns ``end`` and ``price_per_kwh``
    — here still in **EUR/MWh** (the retail formula converts) — plus ``resolution_min``.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TariffError(f"ENTSO-E: body is not valid XML ({exc})") from None
    if root.tag.endswith("Acknowledgement_MarketDocument"):
        reason = root.findtext("{*}Reason/{*}text") or root.findtext("{*}Reason/{*}code") or "?"
        raise TariffError(f"ENTSO-E refused or has no data: {reason.strip()}")
    if not root.tag.endswith("Publication_MarketDocument"):
        raise TariffError(f"ENTSO-E: unexpected document {root.tag.split('}')[-1]!r}")
    frames = []
    for n, series in enumerate(root.findall("{*}TimeSeries"), start=1):
        _check_units(series, f"TimeSeries {n}")
        curve = (series.findtext("{*}curveType") or "A01").strip()
        for m, period in enumerate(series.findall("{*}Period"), start=1):
            starts, step, prices = _period_rows(period, curve, f"TimeSeries {n} Period {m}")
            ends = [s + step for s in starts]
            frame = price_frame(starts, ends, prices)
            frame["resolution_min"] = int(step.total_seconds() // 60)
            frames.append(frame)
    if not frames:
        return price_frame([], [], []).assign(resolution_min=pd.Series(dtype=np.int64))
    return pd.concat(frames).sort_index(kind="stable")


def created_at(body: bytes | str) -> datetime | None:
    """The document's ``createdDateTime`` (UTC): when ENTSO-E published these prices."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    text = root.findtext("{*}createdDateTime")
    try:
        return parse_utc(text, "createdDateTime") if text else None
    except InvalidInput:
        return None


def pick_resolution(frame: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Keep one resolution: ``minutes`` if present, else the finest; drop exact repeats."""
    if frame.empty:
        return frame[[END, PRICE]]
    available = set(frame["resolution_min"])
    chosen = minutes if minutes in available else min(available)
    kept = frame[frame["resolution_min"] == chosen][[END, PRICE]]
    repeated = kept.reset_index().duplicated().to_numpy()
    return kept[~repeated]


def fetch_document(
    client: httpx.Client,
    url: str,
    token: str,
    zone: str,
    start: datetime,
    end: datetime,
    policy: HttpPolicy = DEFAULT_POLICY,
) -> bytes:
    """GET the A44 day-ahead price document for ``zone`` over ``[start, end)``."""
    code = zone_code(zone)
    params = {
        "documentType": "A44",
        "in_Domain": code,
        "out_Domain": code,
        "periodStart": require_utc(start).strftime("%Y%m%d%H%M"),
        "periodEnd": require_utc(end).strftime("%Y%m%d%H%M"),
        "securityToken": token,
    }
    return get(client, url, params, policy).content
