"""RES service for Django models: resources, events, access and auth over NATS."""
