"""The pages' Jinja templates, with the state enums as globals: a template compares a state with
JobState.FINISHED, never with the string "finished"."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from printfarm.deliveries.rules import DeliveryState
from printfarm.jobs.rules import JobState
from printfarm.metrics.rules import PrinterStatus
from printfarm.web.labels import printer_words, status_label, status_meaning

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Every user-visible string in a template is marked for translation: {{ _("...") }},
# {{ ngettext("%(num)d unit", "%(num)d units", n) }} or {% trans %}...{% endtrans %}.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
templates.env.globals.update(
    DeliveryState=DeliveryState, JobState=JobState, PrinterStatus=PrinterStatus, printer_words=printer_words,
)
templates.env.filters.update(status_label=status_label, status_meaning=status_meaning)
