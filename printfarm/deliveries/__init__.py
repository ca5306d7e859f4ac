"""Deliveries: units of a part sent from sites to a hospital, stock, and where each unit came from."""
