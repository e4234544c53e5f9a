"""The one presentation layer, below every surface (web pages, reports, the CLI).

What a person reads is made here, once: cells and tables of KPI values (:mod:`.tables`),
names for codes and the line that says whose data a figure shows (:mod:`.labels`), chart
specs (:mod:`.charts`) and the CSV/XLSX writers that neutralise formulas (:mod:`.exports`).
It asks the KPI registry for figures and the store's readers for names; it never queries.
Danish number and date formats are :mod:`sagsindsigt.danish` (a leaf module, since the core's
own Danish sentences need them too).
"""
