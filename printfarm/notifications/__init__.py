"""Notifications: who is told what (bed waiting, faults, batches, deliveries) through Apprise channels."""
