"""Tracking: OctoPrint-MQTT messages move print jobs and printer state."""
