"""`printfarm secrets ...`: the key that encrypts printer API keys at rest, and its rotation."""

from __future__ import annotations

import typer

from printfarm.adapters.secrets import SecretBox, load_or_create_key, new_key, split_keys, write_key_file
from printfarm.cli.common import CLI_ACTOR, open_services, reported_errors, settings_or_exit
from printfarm.errors import ConfigError

app = typer.Typer(help="The key that encrypts printer API keys at rest.", no_args_is_help=True)


@app.command("new-key")
def new_key_command() -> None:
    """Print a fresh Fernet key (for PRINTFARM_SECRET_KEY=NEW,OLD before `secrets rotate`)."""
    typer.echo(new_key())


@app.command("check")
def check() -> None:
    """Decrypt every printer's API key with the configured key(s); exit 1 if any cannot be opened."""
    with reported_errors():
        services = open_services()
        try:
            with services.db.unit_of_work() as session:
                printers = services.printers.list(session, CLI_ACTOR)
                failed = []
                for printer in printers:
                    try:
                        services.printers.client_for(printer)  # decrypts; does no I/O
                    except ConfigError:
                        failed.append(printer.id)
        finally:
            services.db.dispose()
    if failed:
        typer.echo(f"printfarm: printers {failed}: no configured key opens their API key", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(printers)} printer API keys open with the configured key(s)")


@app.command("rotate")
def rotate() -> None:
    """Re-encrypt every printer's API key under a new key.

    With the key in PRINTFARM_DATA_DIR/secret.key: a new key is made, written beside the old one, every
    printer's API key is re-encrypted in one transaction, then the old key is dropped from the file.
    With PRINTFARM_SECRET_KEY: set it to "NEW,OLD" first (`printfarm secrets new-key`); the keys
    are re-encrypted under NEW, after which PRINTFARM_SECRET_KEY=NEW alone is enough.
    """
    settings = settings_or_exit()
    with reported_errors():
        if settings.secret_key:
            keys = split_keys(settings.secret_key)
            if len(keys) < 2:
                raise ConfigError(
                    "PRINTFARM_SECRET_KEY holds one key: set it to NEW,OLD (make NEW with "
                    "`printfarm secrets new-key`) and run `printfarm secrets rotate` again"
                )
            count = _reencrypt(SecretBox(",".join(keys)))
            typer.echo(f"re-encrypted {count} printer API keys under the first key of PRINTFARM_SECRET_KEY; "
                       "set PRINTFARM_SECRET_KEY to that key alone and restart every replica")
            return
        old = split_keys(load_or_create_key(None, settings.data_dir))
        fresh = new_key()
        # Crash-safe order: while both keys are in the file, old and new ciphertexts both open.
        write_key_file(settings.data_dir, [fresh, *old])
        count = _reencrypt(SecretBox(",".join([fresh, *old])))
        path = write_key_file(settings.data_dir, [fresh])
        typer.echo(f"re-encrypted {count} printer API keys under a new key in {path}; the old key is gone")


def _reencrypt(box: SecretBox) -> int:
    services = open_services()
    try:
        with services.db.unit_of_work() as session:
            services.notifications.reencrypt_urls(session, CLI_ACTOR, box)  # channel URLs share the key
            return services.printers.reencrypt_api_keys(session, CLI_ACTOR, box)
    finally:
        services.db.dispose()

