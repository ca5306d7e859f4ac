"""The gateway's configuration: a TOML file (GATEWAY_SCHEME.md), every top-level key also PRINTFARM_GATEWAY_<KEY>."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)

from printfarm.errors import ConfigError

CONFIG_FILE_VARIABLE = "PRINTFARM_GATEWAY_CONFIG"


class GatewayPrinter(BaseModel):
    """One printer at the site. Its URL and API key never leave the site."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=120, description="The name it is registered under centrally")
    url: str = Field(min_length=8, max_length=500, description="Its OctoPrint on the LAN, http(s)://host:port")
    api_key: SecretStr = Field(min_length=1, max_length=200)
    has_mqtt_plugin: bool = Field(
        True, description="Its OctoPrint-MQTT plugin publishes its events; false: the gateway bridges them"
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")


class GatewayConfig(BaseSettings):
    """Everything a site gateway is told."""

    model_config = SettingsConfigDict(env_prefix="PRINTFARM_GATEWAY_", extra="forbid", frozen=True)

    site: str = Field(min_length=1, max_length=120, pattern=r"^[^/#+\sA-Z]+$",
                      description="The site's slug (printers.rules.slug of its name): its topics are printfarm/<site>/...")
    mqtt_url: str = Field(description="mqtt://host:port, or mqtts://host:port for TLS")
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: str | None = Field(None, description="CA certificate for mqtts:// with a private CA")
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        "5", description="5 (request/response properties); 3.1.1 only for a broker without MQTT 5 (printfarm's embedded one)"
    )
    central_url: str = Field(description="The central service's URL, where plates' G-code is pulled from")
    printers: list[GatewayPrinter] = Field(default_factory=list)
    state_dir: Path = Field(Path("printfarm-gateway-state"),
                            description="Where the gateway remembers the requests it answered (survives restarts)")
    poll_interval_seconds: float = Field(1.0, gt=0, le=300,
                                         description="How often printers without the MQTT plugin are polled")
    printer_timeout_seconds: float = Field(5.0, gt=0, le=120)
    log_level: str = "INFO"

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt(cls, value: str) -> str:
        if not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError(f"must start with mqtt:// or mqtts:// (got {value!r})")
        return value

    @field_validator("central_url")
    @classmethod
    def _central(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")

    @field_validator("printers")
    @classmethod
    def _unique(cls, value: list[GatewayPrinter]) -> list[GatewayPrinter]:
        names = [p.name for p in value]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"printer names must be unique (twice: {', '.join(doubles)})")
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
        config_file = settings_cls.model_config.get("toml_file") or os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(str(config_file))))
        return tuple(sources)


def load_gateway_config(config_file: Path | None = None, **overrides: Any) -> GatewayConfig:
    """The gateway's configuration from config_file (else $PRINTFARM_GATEWAY_CONFIG) and the environment.

    A missing file or a bad value raises ConfigError naming it (never the password or an API key).
    """
    settings_cls: type[GatewayConfig] = GatewayConfig
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"gateway config {config_file}: no such file")
        settings_cls = type("GatewayConfigFile", (GatewayConfig,), {
            "model_config": SettingsConfigDict(**{**GatewayConfig.model_config, "toml_file": config_file}),
        })
    elif (named := os.environ.get(CONFIG_FILE_VARIABLE)) and not Path(named).is_file():
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}={named}: no such file")
    try:
        return settings_cls(**overrides)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"gateway config: {problems}") from err
