"""One Settings object, read once at start from a TOML file and PRINTFARM_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from printfarm.adapters.mqtt.address import BrokerAddress
from printfarm.errors import ConfigError

CONFIG_FILE_VARIABLE = "PRINTFARM_CONFIG"
#: Settings whose value a message never repeats.
SECRET_SETTINGS = frozenset({"secret_key", "database_url", "mqtt_url"})


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/printfarm, else ~/.local/share/printfarm: one place per user, wherever a command runs.

    A folder relative to the working directory would give `printfarm token create` run elsewhere a
    new, empty database whose tokens the running service has never heard of.
    """
    base = os.environ.get("XDG_DATA_HOME")
    if not base:
        try:
            base = str(Path.home() / ".local" / "share")
        except (RuntimeError, KeyError):  # no home directory (a service account without one)
            return Path("printfarm-data")
    return Path(base) / "printfarm"


class Settings(BaseSettings):
    """Everything printfarm can be told; the defaults run on one machine with nothing installed."""

    model_config = SettingsConfigDict(env_prefix="PRINTFARM_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="SQLite file, secret key and file store live here (default: ~/.local/share/printfarm).",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; empty means a SQLite file (WAL) in data_dir."
    )
    mqtt_url: str | None = Field(
        None,
        description="mqtt://[user:password@]host:port of the broker (mqtts:// for TLS); empty starts an "
        "embedded broker in-process. With config/mosquitto-sites.conf the user is the central one "
        "(`printfarm sites central-broker-user`).",
    )
    mqtt_ca_file: Path | None = Field(
        None, description="CA certificate file for an mqtts:// broker with a private CA; empty: the system's CAs."
    )
    mqtt_client_id: str = Field("printfarm-1", min_length=1, max_length=64)
    mqtt_protocol: Literal["3.1.1", "5"] = Field(
        "3.1.1", description="3.1.1 costs paho about half the time per message of 5 (bench/ingest.py)."
    )
    mqtt_ingest_worker: Literal["process", "thread"] = Field(
        "process",
        description="Where MQTT batches are parsed and written: 'process' (a worker process, so the network "
        "loop never waits for them; bench/ingest.py) or 'thread' (the network thread, between reads).",
    )
    mqtt_shared_group: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
        description="With several replicas: subscribe as $share/<group>/... so each message reaches one of them.",
    )
    printer_silence_seconds: float = Field(
        60.0, gt=0, le=86400,
        description="A printer with a running plate and no MQTT message for this long is asked over REST.",
    )
    printer_lost_after_seconds: float = Field(
        120.0, gt=0, le=86400,
        description="A plate whose printer has not answered for this long is lost and its units are queued "
        "again. 120 s rides out an OctoPrint restart or a Wi-Fi drop (seconds to a minute) yet re-queues a "
        "dead printer's plate within two minutes, not the ten a farm manager would otherwise stare at.",
    )
    secret_key: str | None = Field(
        None, description="Fernet key that encrypts printer API keys at rest; empty means data_dir/secret.key."
    )
    public_url: str | None = Field(
        None, max_length=300,
        description="The address people reach printfarm at (https://farm.example.org), for links printed on "
        "labels (a printer's QR code). Empty: the address of the request that printed the label.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)
    dispatch_interval_seconds: float = Field(2.0, gt=0, le=3600)
    printer_timeout_seconds: float = Field(5.0, gt=0, le=120)
    stl_max_bytes: int = Field(200 * 1024 * 1024, gt=0)
    stl_max_triangles: int = Field(10_000_000, gt=0)
    gcode_max_bytes: int = Field(500 * 1024 * 1024, gt=0)
    slicer_executable: str = Field("prusa-slicer", min_length=1)
    slicer_profiles_dir: Path = Field(
        Path(__file__).resolve().parents[1] / "config" / "profiles",
        description="PrusaSlicer config files named by printer profiles' slicer_config.",
    )
    slicer_timeout_seconds: float = Field(300.0, gt=0, le=3600)
    printer_allowed_networks: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="CIDR networks printers may be registered in, comma-separated (e.g. 10.20.0.0/16,"
        "192.168.8.0/24); every address a printer's host resolves to must lie in one. Empty: any.",
    )
    bad_token_max_failures: int = Field(
        20, ge=1, le=100_000, description="Bad tokens one client address may send per window before 429s."
    )
    bad_token_window_seconds: float = Field(60.0, gt=0, le=86400)
    notify_request_risk_hours: float = Field(
        48.0, gt=0, le=24 * 90,
        description="A hospital request due within this many hours whose plates in progress will not fill it "
        "is notified as at risk (to its hospital and the coordinators), once.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url", "mqtt_url", "mqtt_ca_file", "mqtt_shared_group", "secret_key", "public_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("printer_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()] or None
        if value is not None:
            from printfarm.printers.network import parse_networks

            parse_networks(value)  # a ValueError names the bad network
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value is not None else None

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None:
            BrokerAddress.from_url(value)  # a ValueError says what is wrong, never the password
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'printfarm.db').resolve()}"

    @property
    def mqtt_address(self) -> BrokerAddress | None:
        """The configured broker with its login, or None for the embedded one."""
        return BrokerAddress.from_url(self.mqtt_url) if self.mqtt_url else None

    @property
    def file_store_dir(self) -> Path:
        return self.data_dir / "files"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings once; a bad value raises ConfigError naming it."""
    config_file = os.environ.get(CONFIG_FILE_VARIABLE)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}={config_file}: no such file")
    try:
        return Settings(**overrides)
    except ValidationError as err:
        problems = "; ".join(_problem(e["loc"], e["msg"], e.get("input")) for e in err.errors())
        raise ConfigError(f"invalid settings: {problems}") from err
    except ValueError as err:  # a malformed TOML file
        raise ConfigError(f"invalid settings: {err}") from err


def _problem(loc: tuple[int | str, ...], message: str, value: Any) -> str:
    """'http_port: Input should be ... (got 'eighty')': the setting, pydantic's reason, the value once."""
    name = ".".join(str(part) for part in loc) or "settings"
    message = message.removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
    shown = "***" if name in SECRET_SETTINGS else repr(value)
    return f"{name}: {message}" if shown in message else f"{name}: {message} (got {shown})"
