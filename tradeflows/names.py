"""Countries, products and periods as people write them, resolved once at the entry point.

A user types ``China``, ``CN``, ``CHN``, ``156`` or ``Türkiye``; a Eurostat
file says ``EL`` for Greece; Comtrade numbers Taiwan 490. :func:`country`
turns any of them into the ISO3 code tradeflows works in, and says which
names come closest when it cannot. :func:`period_range` reads ``2024``,
``2024-03``, ``202403`` and ``2023-01..2025-06``; :func:`hs_products` takes
an HS prefix or words ("integrated circuits"). :func:`with_names` puts
names beside the codes of a table.

:func:`hs_label` and :func:`hs_description` label a product code in figures.
"""

from tradeflows._names import (
    EUROSTAT_CODES,
    NAME_COLUMNS,
    country,
    country_list,
    country_name,
    hs_description,
    hs_label,
    hs_products,
    month_list,
    period_range,
    with_names,
)

__all__ = [
    "EUROSTAT_CODES",
    "NAME_COLUMNS",
    "country",
    "country_list",
    "country_name",
    "hs_description",
    "hs_label",
    "hs_products",
    "month_list",
    "period_range",
    "with_names",
]
