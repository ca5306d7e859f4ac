"""The demo's farm in the database: sites, hospitals, the part, the printers, and a token per role."""

from __future__ import annotations

from dataclasses import dataclass

from printfarm.auth.rules import SYSTEM, Role
from printfarm.demo.gcode import plate_gcode
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.services import Services
from printfarm.sim import SimulatedFarm

SITE_NAMES = (
    "Lindholmen Makerspace", "Chalmers Prototype Lab", "Volvo Cars Workshop", "SKF Additive",
    "Högskolan Väst", "RISE Mölndal", "Saab Linköping", "Ericsson Kista",
)
# The first hospital files the demo's first request and holds the hospital sign-in.
HOSPITALS = (
    HospitalCreate(name="Sahlgrenska University Hospital", city="Gothenburg",
                   address="Blå stråket 5, 413 45 Göteborg", contact="Central stores"),
    HospitalCreate(name="Östra sjukhuset", city="Gothenburg", contact="Central stores"),
    HospitalCreate(name="Mölndals sjukhus", city="Mölndal", contact="Goods reception"),
    HospitalCreate(name="Kungälvs sjukhus", city="Kungälv", contact="Goods reception"),
)
UNITS_PER_PLATE = 4


@dataclass(frozen=True)
class DemoFarm:
    """The ids the demo works with once the farm is seeded."""

    site_ids: dict[str, int]  # by slug, as the simulated farm names its sites
    site_names: dict[int, str]
    hospital_ids: list[int]
    hospital_names: dict[int, str]
    part_id: int
    gateway_site_id: int | None = None  # the site whose printers are behind a site gateway


@dataclass(frozen=True)
class SignIn:
    """One role's way into the dashboard: who it is, the token, and the page it lands on."""

    role: Role
    label: str  # "operator · Lindholmen Makerspace"
    token: str
    landing_path: str


def site_name(index: int) -> str:
    return SITE_NAMES[index] if index < len(SITE_NAMES) else f"Site {index + 1}"


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def seed(services: Services, farm: SimulatedFarm, site_names: list[str], gateway_site: str | None = None) -> DemoFarm:
    """Sites, hospitals, the approved part with its print file, and the farm's printers.

    The printers of the site named gateway_site are registered with kind gateway: no address or key
    here, its site gateway (already running) holds them under the same names.
    """
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        site_ids = {
            slug(name): services.registry.create_site(session, SYSTEM, SiteCreate(name=name)).id for name in site_names
        }
        hospitals = [services.registry.create_hospital(session, SYSTEM, data) for data in HOSPITALS]
        part = services.parts.create(
            session, SYSTEM, name="Face-shield frame (demo headband)", description="A headband frame for a face shield"
        )
        services.parts.approve(session, SYSTEM, part.id)
        services.parts.add_print_file(
            session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4",
            gcode=plate_gcode(units=UNITS_PER_PLATE), filename="headband-x4.gcode", units_per_print=UNITS_PER_PLATE,
        )
        behind = slug(gateway_site) if gateway_site is not None else None
        for printer in farm.listing():
            address = (
                {"kind": "gateway"} if printer.site == behind
                else {"base_url": printer.base_url, "api_key": printer.api_key}
            )
            services.printers.register(
                session, SYSTEM,
                PrinterCreate(
                    site_id=site_ids[printer.site], name=printer.name, profile="prusa-mk3s-0.4",
                    mqtt_base_topic=printer.base_topic, **address,
                ),
            )
    return DemoFarm(
        site_ids=site_ids,
        site_names={site_ids[slug(name)]: name for name in site_names},
        hospital_ids=[h.id for h in hospitals],
        hospital_names={h.id: h.name for h in hospitals},
        part_id=part.id,
        gateway_site_id=site_ids[behind] if behind is not None else None,
    )


def sign_ins(services: Services, demo: DemoFarm) -> list[SignIn]:
    """A token for every role: admin, coordinator, an operator per site, the first hospital, a viewer."""
    hospital_id = demo.hospital_ids[0]
    wanted: list[tuple[Role, str, dict[str, int], str]] = [
        (Role.ADMIN, "admin", {}, "/audit"),
        (Role.COORDINATOR, "coordinator", {}, "/batches"),
        *[(Role.OPERATOR, f"operator · {name}", {"site_id": site_id}, "/printers")
          for site_id, name in demo.site_names.items()],
        (Role.HOSPITAL, f"hospital · {demo.hospital_names[hospital_id]}", {"hospital_id": hospital_id}, "/hospitals"),
        (Role.VIEWER, "viewer", {}, "/"),
    ]
    links = []
    with services.db.unit_of_work() as session:
        for role, label, scope, landing_path in wanted:
            plain, _ = services.tokens.create(session, SYSTEM, role=role, name=f"demo {label}", **scope)
            links.append(SignIn(role, label, plain, landing_path))
    return links
