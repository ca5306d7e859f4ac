"""HTTP API plumbing shared by the feature routers: dependencies and the error mapping."""
