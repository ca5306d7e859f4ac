"""Hospital requests: who needs how many of which part, by when; and how far each is fulfilled."""
