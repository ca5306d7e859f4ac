"""The cooperation exchange: members' offers (capacity, material, transport) and needs."""
