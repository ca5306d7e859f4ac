"""Allow `python -m printfarm`."""

from printfarm.cli import main

# Guarded: the MQTT ingest worker is a spawned process, which imports this module again as __mp_main__.
if __name__ == "__main__":
    main()
