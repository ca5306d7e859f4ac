"""MQTT adapter: the embedded broker (amqtt) and the ingest client (paho-mqtt)."""
