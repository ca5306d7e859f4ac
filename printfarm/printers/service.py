"""Printer use-cases: register (after asking the printer), update, list, and client access."""

from __future__ import annotations

import builtins

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.adapters.net import resolve_host
from printfarm.adapters.secrets import SecretBox
from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.tables import Printer, Site
from printfarm.events import PrinterEnabled, PrinterRegistered, raise_event
from printfarm.errors import (
    AlreadyExists, Conflict, InputError, PrinterAuthRejected, PrinterCommandFailed, PrinterUnreachable,
)
from printfarm.printers import profiles, repository
from printfarm.printers.health import acknowledge_fault, mark_fault
from printfarm.printers.kinds import GATEWAY, PrinterKinds
from printfarm.printers.network import address_problem, parse_networks, url_host
from printfarm.printers.port import PrinterClient
from printfarm.printers.rules import ConnectionState, gateway_base_url, online_columns, suggested_base_topic
from printfarm.printers.schemas import (
    CurrentJob, PrinterCreate, PrinterRead, PrinterUpdate, TimelineEntryRead, TimelinePage,
)
from printfarm.printers.timeline import timeline_page
from printfarm.db.lookup import get_existing

log = logging.getLogger(__name__)

#: The longest fault report a person may type (the stored reason adds who reported it; 500 at most).
FAULT_REPORT_CHARS = 400


class PrinterService:
    def __init__(
        self,
        clock: Clock,
        secrets: SecretBox,
        kinds: PrinterKinds,
        *,
        allowed_networks: Sequence[str] | None = None,
        resolve: Callable[[str], list[str]] = resolve_host,
    ) -> None:
        """kinds: the client factory of each printer kind. allowed_networks (CIDR strings), when given,
        are the only places a printer may be registered."""
        self._allowed_networks = parse_networks(allowed_networks) if allowed_networks is not None else None
        self._resolve = resolve
        self._clock = clock
        self._secrets = secrets
        self._kinds = kinds

    def client_for(self, printer: Printer) -> PrinterClient:
        """A client for the printer, made by its kind's factory (printers.kinds.PrinterKinds.factory)."""
        factory = self._kinds.factory(printer.kind)
        return factory(printer.base_url, self._secrets.decrypt(printer.api_key_encrypted))

    def register(self, session: Session, actor: Actor, data: PrinterCreate) -> Printer:
        """Store a printer after it answered with this key.

        Raises InputError for an unknown kind or when the printer is unreachable or refuses the key
        (nothing is saved), NotFound for an unknown site or profile, AlreadyExists for a taken name or topic.
        """
        require(actor, Action.MANAGE_PRINTERS, data.site_id)
        kind = self._kinds.checked(data.kind)
        site = get_existing(session, Site, data.site_id, "site")
        profile = profiles.get_by_name(session, data.profile)
        topic = data.mqtt_base_topic or suggested_base_topic(site.name, data.name)
        if session.scalar(select(Printer.id).where(Printer.site_id == site.id, Printer.name == data.name)):
            raise AlreadyExists(f"site {site.id} already has a printer named {data.name!r}")
        if session.scalar(select(Printer.id).where(Printer.mqtt_base_topic == topic)):
            raise AlreadyExists(f"MQTT base topic {topic!r} is already used by another printer")
        base_url, api_key = self._address_and_key(site, kind, data)
        try:
            version = self._kinds.factory(kind)(base_url, api_key).check()
        except PrinterAuthRejected as err:
            raise InputError(f"printer at {base_url} refused the API key: {err}") from err
        except PrinterUnreachable as err:
            raise InputError(f"printer at {base_url} is unreachable: {err}") from err
        except PrinterCommandFailed as err:  # e.g. a redirect to another host, or not OctoPrint at all
            raise InputError(f"printer at {base_url} did not answer as OctoPrint: {err}") from err
        now = self._clock.now()
        printer = Printer(
            site_id=site.id,
            profile_id=profile.id,
            name=data.name,
            base_url=base_url,
            api_key_encrypted=self._secrets.encrypt(api_key),
            mqtt_base_topic=topic,
            kind=kind,
            loaded_material=data.loaded_material,
            is_enabled=True,
            is_bed_clear=True,
            created_at=now,
            **online_columns(now),  # it just answered
        )
        session.add(printer)
        session.flush()
        record(
            session, actor, now, "printer.register", "printer", printer.id,
            {"site_id": site.id, "kind": kind, "base_url": base_url, "octoprint_version": version,
             "mqtt_base_topic": topic},
        )
        log.info("printer %s registered at site %s (%s, %s %s)", printer.id, site.id, base_url, kind, version)
        raise_event(session, PrinterRegistered(now, printer.id, site.id, topic))
        return printer

    def _address_and_key(self, site: Site, kind: str, data: PrinterCreate) -> tuple[str, str]:
        """The base URL and API key to store; InputError for an address outside the allowed networks.

        A gateway printer is gateway://<site-slug>/<name>, with no key: its URL and key stay at its
        site, where its gateway calls it (the allowed networks are the gateway's business then).
        """
        if kind == GATEWAY:
            expected = gateway_base_url(site.name, data.name)
            if data.base_url is not None and data.base_url != expected:
                raise InputError(f"printer {data.name!r} of site {site.id} is reached through its site's gateway "
                                 f"at {expected}, not {data.base_url}")
            return expected, ""
        if data.base_url is None or data.api_key is None:  # PrinterCreate requires both for other kinds
            raise InputError(f"printer {data.name!r}: base_url and api_key are required for kind {kind}")
        self._check_address(data.base_url)
        return data.base_url, data.api_key.get_secret_value()

    def _check_address(self, base_url: str) -> None:
        """InputError unless every address of the URL's host lies in the allowed networks (when set)."""
        if self._allowed_networks is None:
            return
        try:
            host = url_host(base_url)
            addresses = self._resolve(host)
        except (ValueError, PrinterUnreachable) as err:
            raise InputError(f"printer at {base_url}: {err}") from err
        problem = address_problem(host, addresses, self._allowed_networks)
        if problem is not None:
            raise InputError(f"printer at {base_url}: {problem}")

    def reencrypt_api_keys(self, session: Session, actor: Actor, box: SecretBox) -> int:
        """Re-encrypt every printer's API key under box's newest key; the number of printers.

        Raises ConfigError (nothing changes: the unit of work rolls back) when no key of box opens one.
        """
        require(actor, Action.MANAGE_SITES)
        printers = builtins.list(session.scalars(select(Printer).order_by(Printer.id)))
        for printer in printers:
            printer.api_key_encrypted = box.rotate(printer.api_key_encrypted)
        record(session, actor, self._clock.now(), "secrets.rotate", "printer", None, {"printers": len(printers)})
        log.info("re-encrypted the API keys of %d printers under the newest key", len(printers))
        return len(printers)

    def update(self, session: Session, actor: Actor, printer_id: int, data: PrinterUpdate) -> Printer:
        printer = get_existing(session, Printer, printer_id, "printer")
        require(actor, Action.MANAGE_PRINTERS, printer.site_id)
        changes = data.model_dump(exclude_unset=True)
        if "is_enabled" in changes and changes["is_enabled"] is None:
            raise InputError("is_enabled must be true or false")
        for field, value in changes.items():
            setattr(printer, field, value)
        now = self._clock.now()
        if data.is_enabled:
            printer.disabled_reason = None
            printer.consecutive_failures = 0
            raise_event(session, PrinterEnabled(now, printer.id))
        record(session, actor, now, "printer.update", "printer", printer.id, changes)
        return printer

    def acknowledge_fault(self, session: Session, actor: Actor, printer_id: int) -> Printer:
        """An operator of the printer's site looked at it: its fault ends (audited with the fault's message).

        The printer is then offline until it next answers (the runtime asks it at once); from then on
        dispatch may start plates there again, connecting its serial port if it must. Raises
        NotFound, Forbidden (another site's operator, a viewer), Conflict when it is not in fault.
        """
        printer = get_existing(session, Printer, printer_id, "printer")
        require(actor, Action.OPERATE_PRINTER, printer.site_id)
        printer = repository.locked_printers(session, {printer_id})[printer_id]
        now = self._clock.now()
        fault = acknowledge_fault(session, printer, now, actor.label)
        record(session, actor, now, "printer.acknowledge_fault", "printer", printer.id, {"fault": fault})
        return printer

    def report_fault(self, session: Session, actor: Actor, printer_id: int, text: str) -> Printer:
        """An operator at the printer reports a fault in their own words: the printer is in fault, held like
        one the firmware reported (no plate starts there until someone acknowledges it), audited.

        The reason kept is "reported by <who>: <text>". A plate printing there is not stopped (printfarm
        does not decide that for the person at the printer); it is tracked as before. Raises NotFound,
        Forbidden (another site's operator, a viewer), InputError for an empty or over-long text,
        Conflict when the printer is in fault already (acknowledge that one first).
        """
        printer = get_existing(session, Printer, printer_id, "printer")
        require(actor, Action.OPERATE_PRINTER, printer.site_id)
        text = " ".join(text.split())
        if not text:
            raise InputError(f"printer {printer_id}: say what is wrong (the fault report was empty)")
        if len(text) > FAULT_REPORT_CHARS:
            raise InputError(f"printer {printer_id}: a fault report has at most {FAULT_REPORT_CHARS} characters "
                             f"(got {len(text)})")
        printer = repository.locked_printers(session, {printer_id})[printer_id]
        if printer.connection is ConnectionState.FAULT:
            raise Conflict(f"printer {printer_id} is in fault already ({printer.connection_reason}); "
                           "acknowledge that fault before reporting another")
        now = self._clock.now()
        mark_fault(session, printer, now, f"reported by {actor.label}: {text}")
        record(session, actor, now, "printer.report_fault", "printer", printer.id, {"fault": text})
        return printer

    def timeline(self, session: Session, actor: Actor, printer_id: int, before: int | None, limit: int) -> TimelinePage:
        """The printer's timeline newest first, `limit` entries (1..500) older than entry `before` (or the newest)."""
        require(actor, Action.READ)
        get_existing(session, Printer, printer_id, "printer")
        if not 1 <= limit <= 500:
            raise InputError(f"limit {limit} is not within 1..500")
        entries = timeline_page(session, printer_id, before, limit + 1)
        return TimelinePage(
            entries=[TimelineEntryRead.model_validate(e) for e in entries[:limit]],
            next_before=entries[limit - 1].id if len(entries) > limit else None,
        )

    def connection_problems(self, session: Session, actor: Actor) -> builtins.list[Printer]:
        """Printers not online (offline, in fault, not heard from yet), with their reasons."""
        require(actor, Action.READ)
        return repository.printers_not_online(session)

    def get(self, session: Session, actor: Actor, printer_id: int) -> Printer:
        require(actor, Action.READ)
        return get_existing(session, Printer, printer_id, "printer")

    def list(self, session: Session, actor: Actor, site_id: int | None = None) -> builtins.list[Printer]:
        require(actor, Action.READ)
        return repository.list_printers(session, site_id)

    def read_models(self, session: Session, printers: builtins.list[Printer]) -> builtins.list[PrinterRead]:
        """Printers with their current job, in two queries."""
        jobs = repository.active_jobs_by_printer(session, [p.id for p in printers])
        result = []
        for printer in printers:
            read = PrinterRead.model_validate(printer)
            job = jobs.get(printer.id)
            if job is not None:
                read.current_job = CurrentJob(
                    id=job.id, state=job.state.value, progress_percent=job.progress_percent, batch_id=job.batch_id
                )
            result.append(read)
        return result
