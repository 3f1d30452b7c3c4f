"""A store's ``audit.json`` is untrusted input: its schema, its data folder, its sums.

A store may come from a colleague, a shared drive or object storage. Before
anything is read from it, written to it or removed in it, its audit is
checked against the schema shipped with the package (``audit.schema.json``),
its data folder must be a plain child folder of the store, and its counts
must add up. Every failure is a :class:`~tradeflows._errors.TradeflowsInputError`
naming the store: the store is left as it is.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

from tradeflows._errors import TradeflowsInputError, one_line

__all__ = [
    "DATA_PATTERN",
    "STORE_FORMAT",
    "check_counts",
    "data_folder",
    "parse_audit",
    "validate_audit",
]

#: The store format this version writes and reads (the schema's ``format``).
STORE_FORMAT = "tradeflows-store/1"
#: The only names a data folder may have (``data-`` and 12 hex digits).
DATA_PATTERN = r"^data-[0-9a-f]{12}$"


@functools.cache
def _validator():
    import jsonschema

    schema = json.loads(
        resources.files("tradeflows").joinpath("audit.schema.json").read_text(encoding="utf-8")
    )
    return jsonschema.Draft202012Validator(schema)


def parse_audit(data: bytes, where: object) -> dict:
    """An ``audit.json``'s bytes -> the audit, checked (:func:`validate_audit`).

    Examples
    --------
    >>> parse_audit(b'{"format": "other"}', "s/audit.json")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: s/audit.json: not a tradeflows-store/1 audit
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise TradeflowsInputError(f"{where}: unreadable audit ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != STORE_FORMAT:
        raise TradeflowsInputError(f"{where}: not a {STORE_FORMAT} audit")
    return validate_audit(doc, where)


def validate_audit(doc: object, where: object) -> dict:
    """Return ``doc`` if it is a valid audit, else raise naming the first problem.

    Parameters
    ----------
    doc : object
        The parsed ``audit.json``.
    where : object
        The audit's path or URL, for the message.

    Examples
    --------
    >>> validate_audit({"format": "tradeflows-store/1", "data": "../victim", "files": [],
    ...                 "totals": {}, "store": {}}, "s/audit.json")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: s/audit.json: invalid audit at data: '../victim' is not the name of a data folder inside the store (data- and 12 hex digits)
    """
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        at = "/".join(str(p) for p in e.absolute_path) or "top level"
        if at == "data":
            raise TradeflowsInputError(
                f"{where}: invalid audit at data: {e.instance!r} is not the name of a data "
                "folder inside the store (data- and 12 hex digits)"
            )
        message = one_line(e.message)
        if len(message) > 200:
            message = message[:200] + "..."
        raise TradeflowsInputError(f"{where}: invalid audit at {at}: {message}")
    check_counts(doc, where)
    return doc


def check_counts(doc: dict, where: object) -> None:
    """Refuse an audit whose counts do not add up.

    Each file read ``rows_kept + rows_dropped`` rows, and the store holds
    ``sum(rows_kept) - sum(superseded_later)`` rows.
    """
    for i, f in enumerate(doc["files"]):
        if f["rows_read"] != f["rows_kept"] + f["rows_dropped"]:
            raise TradeflowsInputError(
                f"{where}: inconsistent audit: files/{i} read {f['rows_read']} rows but kept "
                f"{f['rows_kept']} and dropped {f['rows_dropped']}"
            )
    if doc["data"] is None:
        return
    held = sum(f["rows_kept"] - f.get("superseded_later", 0) for f in doc["files"])
    rows = doc["store"].get("rows")
    if rows is not None and rows != held:
        raise TradeflowsInputError(
            f"{where}: inconsistent audit: store/rows is {rows} but its files kept {held} rows"
        )


def data_folder(store: Path, doc: dict) -> Path | None:
    """The store's data folder, checked: a real child folder of ``store`` (None when empty).

    A name outside the store, a link or a missing folder is an error, never
    an empty store.
    """
    name = doc.get("data")
    if name is None:
        return None
    folder = store / name
    if folder.is_symlink() or folder.parent.resolve() != store.resolve():
        raise TradeflowsInputError(f"{store}: data folder {name!r} is not a folder of the store")
    if not folder.is_dir():
        raise TradeflowsInputError(
            f"{store}: data folder {name} is missing; the store is damaged "
            "(restore it from a copy, or ingest the files again into a new store)"
        )
    return folder
